/**
 * Stack plumbing shared by the stack probes (offcpu, profile): reading BPF_MAP_TYPE_STACK_TRACE entries, turning
 * them into symbolized frames, and tracking the target's processes at start so their frames resolve after they exit.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BpfMap } from '../libbpf.ts';
import { findCpuMount } from '../cgroup-mount.ts';
import { CgroupResolver } from '../cgroups.ts';
import type { Symbolizer } from '../../symbols/symbolizer.ts';
import type { ProbeTarget } from './types.ts';

/** Most processes of a target cgroup whose maps are read at start (each costs one read of /proc/PID/maps). */
const TRACK_MAX = 256;

/** Reads stack ids from a stack trace map (leaf first), caching each id; a negative or missing id is []. */
export function stackReader(map: BpfMap): (id: number) => bigint[] {
  const cache = new Map<number, bigint[]>();
  return (id) => {
    if (id < 0) return [];
    let frames = cache.get(id);
    if (!frames) {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(id);
      const v = map.lookup(key);
      frames = [];
      if (v)
        for (let o = 0; o + 8 <= v.length; o += 8) {
          const a = v.readBigUInt64LE(o);
          if (a === 0n) break;
          frames.push(a);
        }
      cache.set(id, frames);
    }
    return frames;
  };
}

/** Directory of the target's cgroup in the cpu hierarchy, from its path or else its id. */
function cgroupDir(target: ProbeTarget): string | undefined {
  try {
    const mount = findCpuMount();
    if (target.cgroupPath) {
      const rel =
        mount.root !== '/' && target.cgroupPath.startsWith(mount.root)
          ? target.cgroupPath.slice(mount.root.length)
          : target.cgroupPath;
      return join(mount.dir, rel);
    }
    if (target.cgroupId) return new CgroupResolver({ mount }).resolve(target.cgroupId.toString())?.dir;
  } catch {
    /* no cpu hierarchy: pids only */
  }
  return undefined;
}

/** Pids of a cgroup and its descendants, at most `max`. */
function cgroupPids(dir: string, max: number): number[] {
  const out: number[] = [];
  const stack = [dir];
  while (stack.length && out.length < max) {
    const d = stack.pop()!;
    try {
      for (const l of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n'))
        if (l && out.length < max) out.push(Number(l));
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) stack.push(join(d, e.name));
    } catch {
      /* vanished */
    }
  }
  return out;
}

/** Snapshots the mappings of the target's processes (its pids and the processes of its cgroup). */
export function trackTarget(sym: Symbolizer, target: ProbeTarget): void {
  for (const pid of target.pids ?? []) sym.track(pid);
  const dir = target.cgroupId || target.cgroupPath ? cgroupDir(target) : undefined;
  if (dir) for (const pid of cgroupPids(dir, TRACK_MAX)) sym.track(pid);
  for (const cgroupId of target.cgroupIds ?? []) {
    const d = cgroupDir({ cgroupId });
    if (d) for (const pid of cgroupPids(d, TRACK_MAX)) sym.track(pid);
  }
}

/** Folds frames that symbolized to the same name list: sums weights per distinct (frames, comm, reason). */
export function mergeStacks<T extends { frames: string[]; weight: number; comm?: string; reason?: string }>(
  items: readonly T[],
): T[] {
  const by = new Map<string, T>();
  for (const it of items) {
    const k = `${it.reason ?? ''}\0${it.comm ?? ''}\0${it.frames.join(';')}`;
    const prev = by.get(k);
    if (prev) prev.weight += it.weight;
    else by.set(k, { ...it });
  }
  return [...by.values()].sort((a, b) => b.weight - a.weight);
}

/**
 * syscalls family: syscall latency per syscall system-wide, and per (cgroup, syscall) for the cgroups and pids on the
 * in-kernel watch lists (bpf/counters/syscalls.bpf.c). The watch lists are `counters.watch_cgroups` / `counters.watch_pids`
 * plus whatever `watch()` sets at run time. A watched cgroup also covers its descendants up to 3 levels down (a pod and
 * its containers), reported under the watched cgroup's id.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { TriplineError } from '../../errors.ts';
import { features } from '../features.ts';
import { findCpuMount } from '../cgroup-mount.ts';
import { syscallName } from '../syscall-names.ts';
import type { CounterFactory, CounterFamily, Reading } from './types.ts';
import { syscalls as spec } from './spec/syscalls.ts';
import { entryFields } from './spec/types.ts';
import { chooseHooks, pushAll, startBpfFamily, type HookKind } from './bpf-family.ts';
import {
  SYSCALLS,
  cgroupWatchKey,
  decodeCgroupSyscallEntry,
  decodeSyscallEntry,
  pidWatchKey,
} from '../decode/syscalls.ts';
import { HIST_LAYOUT } from '../decode/hist.ts';

const PROGRAMS = ['tlc_sys_enter', 'tlc_sys_exit'] as const;

/** Cgroup ids of paths relative to the cpu hierarchy's mount; paths that do not exist (yet) are left out. */
export function cgroupIdsOf(paths: readonly string[], mountDir: string = findCpuMount().dir): bigint[] {
  const out: bigint[] = [];
  for (const p of paths) {
    try {
      out.push(statSync(join(mountDir, p), { bigint: true }).ino);
    } catch {
      /* not there yet: retried on the next watch() */
    }
  }
  return out;
}

/** Starts the syscalls family; `base` is always watched (from the config), `watch()` adds to it; `hooks` overrides feature detection (tests). */
export function startSyscalls(
  objDir: string,
  base: { cgroupPaths: readonly string[]; pids: readonly number[] } = { cgroupPaths: [], pids: [] },
  hooks?: HookKind,
): CounterFamily {
  const f = features(objDir);
  if (!f.taskStorage.ok) {
    throw new TriplineError(
      'PROBE_ERR_UNSUPPORTED',
      `syscalls: task storage maps are unavailable (${f.taskStorage.reason})`,
      { hint: 'the syscalls counter needs Linux >= 5.11' },
    );
  }
  const fam = startBpfFamily(
    objDir,
    {
      stem: 'syscalls',
      programs: PROGRAMS,
      maps: {
        syscall_latency: { keySize: SYSCALLS.keySize, valueSize: SYSCALLS.valueSize },
        cgroup_syscall_latency: { keySize: SYSCALLS.cgKeySize, valueSize: SYSCALLS.valueSize },
        syscall_watch_cg: { keySize: 8, valueSize: 1 },
        syscall_watch_pid: { keySize: 4, valueSize: 1 },
        syscall_watch_on: { keySize: 4, valueSize: 4 },
        syscalls_drops: { keySize: 4, valueSize: 8 },
      },
      dropsMap: 'syscalls_drops',
      open: { layouts: { hist: HIST_LAYOUT, ...SYSCALLS.layouts } },
    },
    hooks ?? chooseHooks(f, 'syscalls'),
  );
  const perSyscall = fam.obj.map('syscall_latency');
  const perCgroup = fam.obj.map('cgroup_syscall_latency');
  const watchCg = fam.obj.map('syscall_watch_cg');
  const watchPid = fam.obj.map('syscall_watch_pid');
  const watchOn = fam.obj.map('syscall_watch_on');

  /** Makes the kernel's watch maps equal `cg` ∪ `pids`, then publishes the entry count (0 = no lookups at all). */
  const setWatch = (cg: readonly bigint[], pids: readonly number[]): void => {
    const cgSet = new Set(cg);
    const pidSet = new Set(pids);
    if (cgSet.size > SYSCALLS.watchMax || pidSet.size > SYSCALLS.watchMax) {
      throw new TriplineError(
        'PROBE_ERR_CONFIG',
        `syscalls: at most ${SYSCALLS.watchMax} watched cgroups and ${SYSCALLS.watchMax} pids (got ${cgSet.size} and ${pidSet.size})`,
        { hint: 'shorten counters.watch_cgroups / watch_pids' },
      );
    }
    const one = Buffer.from([1]);
    for (const k of watchCg.keys()) if (!cgSet.has(k.readBigUInt64LE(0))) watchCg.delete(k);
    for (const k of watchPid.keys()) if (!pidSet.has(k.readUInt32LE(0))) watchPid.delete(k);
    for (const id of cgSet) watchCg.update(cgroupWatchKey(id), one);
    for (const pid of pidSet) watchPid.update(pidWatchKey(pid), one);
    const n = Buffer.alloc(4);
    n.writeUInt32LE(cgSet.size + pidSet.size);
    watchOn.update(Buffer.alloc(4), n);
  };
  const baseIds = (): bigint[] => (base.cgroupPaths.length ? cgroupIdsOf(base.cgroupPaths) : []);
  try {
    setWatch(baseIds(), base.pids);
  } catch (err) {
    fam.close();
    throw err;
  }

  const name = (nr: number): string => syscallName(nr);
  return {
    name: 'syscalls',
    read(): Reading[] {
      const out: Reading[] = [];
      perSyscall.forEach((k, v) => pushAll(out, decodeSyscallEntry(k, v, fam.cpus, name)));
      perCgroup.forEach((k, v) => pushAll(out, decodeCgroupSyscallEntry(k, v, fam.cpus, name)));
      return out;
    },
    /** Sets the run-time watch list (replacing the previous one); the configured cgroups and pids stay watched. */
    watch(target) {
      setWatch([...baseIds(), ...(target.cgroupIds ?? [])], [...base.pids, ...(target.pids ?? [])]);
    },
    stats: () => fam.stats(),
    close: () => fam.close(),
  };
}

/** Registry entry: name, bpf flag and signals from the descriptor (spec/), and how to start. */
export const syscalls: CounterFactory = {
  ...entryFields(spec),
  start(ctx) {
    return startSyscalls(ctx.objDir, {
      cgroupPaths: ctx.config.counters.watch_cgroups,
      pids: ctx.config.counters.watch_pids,
    });
  },
};

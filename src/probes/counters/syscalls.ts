/**
 * syscalls family: syscall latency per syscall system-wide, and per (cgroup, syscall) for the cgroups and pids on the
 * in-kernel watch lists (bpf/counters/syscalls.bpf.c). The watch lists are `counters.watch_cgroups` / `counters.watch_pids`
 * plus whatever `watch()` sets at run time (the capture side adds the offenders of firing incidents). A watched cgroup
 * also covers its descendants up to 3 levels down (a pod and its containers), reported under the watched cgroup's id.
 * Configured paths are re-resolved every `rescanMs` on a read, so a path created after start is watched then.
 * Every cgroup's slow calls of file and storage syscalls (`syscall_slow_calls`, the per-cgroup twin of
 * `syscall_latency_seconds`) are counted for all cgroups, watched or not.
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
  syscallMask,
  SYSCALL_MASK_SIZE,
} from '../decode/syscalls.ts';
import { syscallTable } from '../syscall-names.ts';
import { parseDuration } from '../../duration.ts';
import { HIST_LAYOUT } from '../decode/hist.ts';
import { CGROUP_COUNTER, decodeCgroupCounterEntry } from '../decode/cgroup-counter.ts';
import { CgroupLabels } from '../decode/labels.ts';

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

/** Options of startSyscalls beyond the watch lists. */
export interface SyscallsOptions {
  /** Size of the per-cgroup slow-call map (counters.max_cgroups). @defaultValue CG_SYSCALL_SLOW_MAX (10240) */
  readonly maxCgroups?: number;
  /** A call this long (ns) or longer counts in `syscall_slow_calls` (counters.syscall_slow_threshold). @defaultValue 1 ms */
  readonly slowNs?: number;
  /** Syscalls counted in `syscall_slow_calls` (counters.syscall_twin_syscalls). @defaultValue that key's default */
  readonly twinSyscalls?: readonly string[];
  /** Least time between two re-resolutions of the configured watch paths (paths created or re-created later). @defaultValue 5000 */
  readonly rescanMs?: number;
  /** Clock (tests). @defaultValue Date.now */
  readonly now?: () => number;
}

/**
 * Starts the syscalls family; `base` is always watched (from the config; paths that do not exist yet are watched
 * once they appear), `watch()` adds to it; `hooks` overrides feature detection (tests).
 */
export function startSyscalls(
  objDir: string,
  base: { cgroupPaths: readonly string[]; pids: readonly number[] } = { cgroupPaths: [], pids: [] },
  hooks?: HookKind,
  opts: SyscallsOptions = {},
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
        cgroup_syscall_slow: CGROUP_COUNTER,
        syscall_twin_mask: { keySize: 4, valueSize: SYSCALL_MASK_SIZE },
        syscall_watch_cg: { keySize: 8, valueSize: 1 },
        syscall_watch_pid: { keySize: 4, valueSize: 1 },
        syscall_watch_on: { keySize: 4, valueSize: 4 },
        syscalls_drops: { keySize: 4, valueSize: 8 },
      },
      dropsMap: 'syscalls_drops',
      open: {
        layouts: { hist: HIST_LAYOUT, ...SYSCALLS.layouts },
        rodata: { syscall_slow_ns: BigInt(Math.round(opts.slowNs ?? 1e6)) },
        ...(opts.maxCgroups ? { maxEntries: { cgroup_syscall_slow: opts.maxCgroups } } : {}),
      },
    },
    hooks ?? chooseHooks(f, 'syscalls'),
  );
  const perSyscall = fam.obj.map('syscall_latency');
  const perCgroup = fam.obj.map('cgroup_syscall_latency');
  const cgSlow = fam.obj.map('cgroup_syscall_slow');
  const cgLabels = new CgroupLabels();
  // Which syscalls count in the twin: names this architecture lacks are left out (the defaults name x86_64's too).
  const { mask } = syscallMask(
    opts.twinSyscalls ?? spec.config.syscall_twin_syscalls.parse(undefined),
    syscallTable() ?? {},
  );
  fam.obj.map('syscall_twin_mask').update(Buffer.alloc(4), mask);
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
  // The configured paths' ids as last resolved, and the run-time list: the kernel's lists are their union.
  const now = opts.now ?? Date.now;
  const rescanMs = opts.rescanMs ?? 5000;
  let baseIds: bigint[] = [];
  let runtime: { cgroupIds: readonly bigint[]; pids: readonly number[] } = { cgroupIds: [], pids: [] };
  let resolvedAt = 0;
  const apply = (): void => setWatch([...baseIds, ...runtime.cgroupIds], [...base.pids, ...runtime.pids]);
  /** Re-resolves the configured paths (a path created, or removed and re-created, gets watched); true when changed. */
  const resolveBase = (): boolean => {
    resolvedAt = now();
    if (base.cgroupPaths.length === 0) return false;
    let ids: bigint[];
    try {
      ids = cgroupIdsOf(base.cgroupPaths);
    } catch {
      return false; // no cpu hierarchy: nothing to resolve against
    }
    const changed = ids.length !== baseIds.length || ids.some((id, i) => id !== baseIds[i]);
    baseIds = ids;
    return changed;
  };
  try {
    resolveBase();
    apply();
  } catch (err) {
    fam.close();
    throw err;
  }

  const name = (nr: number): string => syscallName(nr);
  return {
    name: 'syscalls',
    read(): Reading[] {
      if (base.cgroupPaths.length > 0 && now() - resolvedAt >= rescanMs && resolveBase()) apply();
      const out: Reading[] = [];
      perSyscall.forEach((k, v) => pushAll(out, decodeSyscallEntry(k, v, fam.cpus, name)));
      perCgroup.forEach((k, v) => pushAll(out, decodeCgroupSyscallEntry(k, v, fam.cpus, name)));
      cgSlow.forEach((k, v) =>
        pushAll(out, decodeCgroupCounterEntry('syscall_slow_calls', 1, k, v, fam.cpus, cgLabels.of)),
      );
      cgLabels.sweep();
      return out;
    },
    /** Sets the run-time watch list (replacing the previous one); the configured cgroups and pids stay watched. */
    watch(target) {
      const next = { cgroupIds: [...(target.cgroupIds ?? [])], pids: [...(target.pids ?? [])] };
      const prev = runtime;
      runtime = next;
      try {
        resolveBase();
        apply();
      } catch (err) {
        runtime = prev;
        throw err;
      }
    },
    /** Read back from the kernel's maps (what the programs see), not from what was asked. */
    watching: () => ({
      cgroupIds: watchCg.keys().map((k) => k.readBigUInt64LE(0)),
      pids: watchPid.keys().map((k) => k.readUInt32LE(0)),
    }),
    stats: () => fam.stats(),
    close: () => fam.close(),
  };
}

/** Registry entry: name, bpf flag and signals from the descriptor (spec/), and how to start. */
export const syscalls: CounterFactory = {
  ...entryFields(spec),
  start(ctx) {
    return startSyscalls(
      ctx.objDir,
      { cgroupPaths: ctx.config.counters.watch_cgroups, pids: ctx.config.counters.watch_pids },
      undefined,
      {
        maxCgroups: ctx.config.counters.max_cgroups,
        slowNs: parseDuration(ctx.config.counters.syscall_slow_threshold) * 1e6,
        twinSyscalls: ctx.config.counters.syscall_twin_syscalls,
      },
    );
  },
};

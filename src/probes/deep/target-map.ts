/**
 * The target filter and budget every deep probe shares (bpf/deep_target.h): encoding of struct deep_target, writing
 * the target before attach, and reading the in-kernel event/drop counters.
 */
import { TriplineError } from '../../errors.ts';
import type { BpfObject } from '../libbpf.ts';
import type { ProbeBudget, ProbeTarget } from './types.ts';

/** sizeof(struct deep_target) (DEEP_TARGET_SIZE). */
export const DEEP_TARGET_SIZE = 40;
/** Layout checked against the object's BTF at load. */
export const DEEP_TARGET_LAYOUT = {
  deep_target: {
    size: DEEP_TARGET_SIZE,
    fields: {
      cgroup_id: 0,
      max_events: 8,
      deadline_ns: 16,
      active: 24,
      use_pids: 28,
      match_children: 32,
      use_cgroups: 36,
      host_wide: 38,
    },
  },
} as const;
const DEEP_MAX_PIDS = 1024;
/** Entries of target_cgroups (DEEP_MAX_CGROUPS): the further cgroups one capture can aim at. */
export const DEEP_MAX_CGROUPS = 8;
const STAT_EVENTS = 0;
const STAT_DROPPED = 1;
const STAT_ERRORS = 2;

/** In-kernel counters of one run. */
export interface DeepStats {
  readonly events: number;
  readonly dropped: number;
  /** Non-fatal in-kernel failures (e.g. a stack that did not fit the stack table). */
  readonly errors: number;
}

/**
 * Rejects a target without cgroup, pids or host-wide flag (it would match nothing) or with too many pids or
 * cgroups for the filter maps.
 */
export function checkTarget(probe: string, target: ProbeTarget): void {
  const pids = target.pids ?? [];
  const cgroups = target.cgroupIds ?? [];
  if (!target.cgroupId && pids.length === 0 && cgroups.length === 0 && !target.hostWide) {
    throw new TriplineError('CAPTURE_ERR_TARGET', `${probe}: the target has neither a cgroup id nor pids`, {
      hint: 'pass --cgroup PATH or --pid PID',
    });
  }
  if (cgroups.length > DEEP_MAX_CGROUPS) {
    throw new TriplineError(
      'CAPTURE_ERR_TARGET',
      `${probe}: ${cgroups.length} target cgroups, the filter holds ${DEEP_MAX_CGROUPS}`,
      { hint: 'lower capture.top in the rule' },
    );
  }
  if (pids.length > DEEP_MAX_PIDS) {
    throw new TriplineError(
      'CAPTURE_ERR_TARGET',
      `${probe}: ${pids.length} target pids, the filter holds ${DEEP_MAX_PIDS}`,
      { hint: 'target the cgroup instead of its pids' },
    );
  }
}

/** Monotonic clock in ns, the same clock as bpf_ktime_get_ns() (CLOCK_MONOTONIC). */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

/**
 * Writes the target (pids first, then the config with active = 1) so the programs filter from their first run.
 * Further cgroups (`cgroupIds`) go into target_cgroups; `hostWide` matches every task.
 * The deadline is enforced in the kernel too: past it the programs only count drops, even if user space is late.
 */
export function writeTarget(
  obj: BpfObject,
  target: ProbeTarget,
  budget: ProbeBudget,
  opts: { matchChildren?: boolean } = {},
): void {
  const pids = obj.map('target_pids');
  const one = Buffer.from([1]);
  for (const pid of target.pids ?? []) {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(pid);
    pids.update(key, one);
  }
  const cgroups = target.cgroupIds ?? [];
  if (cgroups.length > 0) {
    const m = obj.map('target_cgroups');
    for (const id of cgroups) {
      const key = Buffer.alloc(8);
      key.writeBigUInt64LE(id);
      m.update(key, one);
    }
  }
  const cfg = Buffer.alloc(DEEP_TARGET_SIZE);
  cfg.writeBigUInt64LE(target.cgroupId ?? 0n, 0);
  cfg.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(budget.maxEvents))), 8);
  cfg.writeBigUInt64LE(monotonicNs() + BigInt(Math.round(budget.durationMs * 1e6)), 16);
  cfg.writeUInt32LE(1, 24);
  cfg.writeUInt32LE((target.pids ?? []).length > 0 ? 1 : 0, 28);
  cfg.writeUInt32LE(opts.matchChildren ? 1 : 0, 32);
  cfg.writeUInt16LE(cgroups.length > 0 ? 1 : 0, 36);
  cfg.writeUInt16LE(target.hostWide ? 1 : 0, 38);
  obj.map('deep_target').update(Buffer.alloc(4), cfg);
}

/** Moves the in-kernel deadline of an active filter `ms` later (a capture extended while it runs). */
export function extendDeadline(obj: BpfObject, ms: number): void {
  const m = obj.map('deep_target');
  const cfg = m.lookup(Buffer.alloc(4));
  if (!cfg || cfg.length !== DEEP_TARGET_SIZE || cfg.readUInt32LE(24) !== 1) return; // off: nothing to extend
  cfg.writeBigUInt64LE(cfg.readBigUInt64LE(16) + BigInt(Math.round(ms * 1e6)), 16);
  m.update(Buffer.alloc(4), cfg);
}

/** Turns the filter off (programs still attached record nothing from now on). */
export function deactivate(obj: BpfObject): void {
  obj.map('deep_target').update(Buffer.alloc(4), Buffer.alloc(DEEP_TARGET_SIZE));
}

/** Reads the event, drop and error counters. */
export function readStats(obj: BpfObject): DeepStats {
  const m = obj.map('deep_stats');
  const get = (i: number): number => {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(i);
    return Number(m.lookup(key)?.readBigUInt64LE(0) ?? 0n);
  };
  return { events: get(STAT_EVENTS), dropped: get(STAT_DROPPED), errors: get(STAT_ERRORS) };
}

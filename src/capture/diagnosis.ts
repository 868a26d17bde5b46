/**
 * Why a CPU-bound incident happened, from the evidence (pure):
 * - limit-bound: the cgroup hits its CFS quota — throttled in many periods while its own demand is at the quota;
 * - contention: its tasks were runnable but waiting while other cgroups ran, with little or no throttling;
 * - app-bound: neither throttled nor waiting for a CPU — the time goes in the application itself;
 * - unknown: no CPU evidence at all.
 * The scale action scales only limit-bound workloads by default: more replicas of a workload starved by a
 * neighbour on the same node do not help.
 */
import type { Diagnosis, Neighbour } from '../bundle/types.ts';
import type { WindowStats } from './window.ts';

/** Throttled in at least this share of CFS periods counts as "throttled a lot". */
export const THROTTLED_HIGH = 0.2;
/** Demand at or above this share of the quota counts as "using its quota". */
export const DEMAND_AT_QUOTA = 0.8;
/** Throttled in this share of periods or more is limit-bound even with a lower mean (bursts hit the quota). */
export const THROTTLED_SEVERE = 0.5;
/** Waiting for a CPU at least this share of the runnable time counts as "runnable but waiting". */
export const WAIT_HIGH = 0.1;

/** runqslower's aggregate: delays over its threshold and who held the CPU meanwhile. */
export interface RunqEvidence {
  readonly delays: number;
  readonly delaySeconds: number;
  readonly neighbours: readonly Neighbour[];
}

export interface DiagnosisInput {
  readonly window: WindowStats;
  readonly runq?: RunqEvidence;
  /** The target's own cgroup id (decimal), to tell neighbours from its own threads. */
  readonly cgroupId?: string;
  /** Length of the capture in seconds: runqslower's delays are a share of it when the sampler has no data. */
  readonly captureSeconds?: number;
  /** Waiting share from the deep probes (offcpu's runnable time vs profile's on-CPU time), when the sampler has none. */
  readonly probeWaitShare?: number;
  /** Names of a cgroup path (`shop/batch-1 (Job shop/nightly)`), '' when it has none: neighbours are named by it. */
  readonly nameOf?: CgroupNamer;
}

/** Names of a cgroup from its path, in one line; '' when it has none (the engine's pod directory answers). */
export type CgroupNamer = (cgroupPath: string) => string;

const pct = (x: number): string => `${Math.round(x * 100)}%`;
const cores = (x: number): string => `${+x.toFixed(2)}`;

/** Tasks of one other cgroup that held the CPU while the target waited, heaviest first. */
export interface NeighbourGroup {
  readonly cgroupId: string;
  readonly cgroupPath: string;
  /** Its names (pod, workload, container, or systemd unit), when known. */
  readonly cgroupName?: string;
  readonly delaySeconds: number;
  readonly tasks: readonly Neighbour[];
}

/**
 * The other cgroup whose tasks held the CPU longest while the target waited. Grouped by cgroup because a noisy
 * neighbour is often several processes (a backup with its gzip, a build with its compilers).
 */
export function topNeighbour(
  runq: RunqEvidence | undefined,
  ownCgroup?: string,
  nameOf?: CgroupNamer,
): NeighbourGroup | undefined {
  const groups = new Map<string, { cgroupId: string; cgroupPath: string; delaySeconds: number; tasks: Neighbour[] }>();
  for (const n of runq?.neighbours ?? []) {
    if (n.cgroupId === ownCgroup) continue;
    let g = groups.get(n.cgroupId);
    if (!g)
      groups.set(n.cgroupId, (g = { cgroupId: n.cgroupId, cgroupPath: n.cgroupPath, delaySeconds: 0, tasks: [] }));
    g.delaySeconds += n.delaySeconds;
    g.tasks.push(n);
  }
  const top = [...groups.values()].sort((a, b) => b.delaySeconds - a.delaySeconds)[0];
  top?.tasks.sort((a, b) => b.delaySeconds - a.delaySeconds);
  const name = top && nameOf && top.cgroupPath ? nameOf(top.cgroupPath) : '';
  return top && name ? { ...top, cgroupName: name } : top;
}

/**
 * A neighbour group in plain words: "pid 4711 (backup.sh) in /other", "pid 4711 (backup.sh) and 2 other tasks in
 * batch/backup-x (Job batch/backup)" when the cgroup has names.
 */
export function neighbourText(g: NeighbourGroup): string {
  const t = g.tasks[0];
  const more = g.tasks.length > 1 ? ` and ${g.tasks.length - 1} other task${g.tasks.length > 2 ? 's' : ''}` : '';
  return `pid ${t.pid} (${t.comm})${more} in ${g.cgroupName || g.cgroupPath || `cgroup ${g.cgroupId}`}`;
}

/** Classifies the cause; evidence keeps every number the verdict used. */
export function diagnose(input: DiagnosisInput): Diagnosis {
  const w = input.window;
  const evidence: Record<string, number | string> = {};
  if (w.throttledRatio !== undefined) evidence.throttled_ratio = w.throttledRatio;
  if (w.usageCores !== undefined) evidence.usage_cores = w.usageCores;
  if (w.quotaCores !== undefined) evidence.quota_cores = w.quotaCores;
  if (w.waitShare !== undefined) evidence.wait_share = w.waitShare;
  if (w.pressureShare !== undefined) evidence.pressure_share = w.pressureShare;
  if (w.points > 0) evidence.window_seconds = w.seconds;

  // Delay caused by other cgroups vs the target's own threads (from runqslower's neighbours).
  const nbs = input.runq?.neighbours ?? [];
  const otherDelay = nbs.filter((n) => n.cgroupId !== input.cgroupId).reduce((a, n) => a + n.delaySeconds, 0);
  const ownDelay = nbs.filter((n) => n.cgroupId === input.cgroupId).reduce((a, n) => a + n.delaySeconds, 0);
  if (input.runq) {
    evidence.runq_delays = input.runq.delays;
    evidence.runq_delay_seconds = input.runq.delaySeconds;
  }
  if (otherDelay + ownDelay > 0) evidence.neighbour_share = otherDelay / (otherDelay + ownDelay);
  const top = topNeighbour(input.runq, input.cgroupId, input.nameOf);
  if (top) evidence.top_neighbour = neighbourText(top);

  const hasCpu =
    w.throttledRatio !== undefined ||
    w.usageCores !== undefined ||
    w.waitShare !== undefined ||
    input.probeWaitShare !== undefined;
  if (!hasCpu && !input.runq)
    return {
      cause: 'unknown',
      summary: 'no CPU evidence for the target in the window (no cpu.stat, run-queue or runqslower data)',
      evidence,
    };

  const throttled = w.throttledRatio ?? 0;
  const demand = w.quotaCores && w.usageCores !== undefined ? w.usageCores / w.quotaCores : undefined;
  if (demand !== undefined) evidence.demand_of_quota = demand;
  if (
    w.quotaCores !== undefined &&
    throttled >= THROTTLED_HIGH &&
    ((demand ?? 0) >= DEMAND_AT_QUOTA || throttled >= THROTTLED_SEVERE)
  ) {
    return {
      cause: 'limit-bound',
      evidence,
      summary: `throttled in ${pct(throttled)} of CFS periods while using ${cores(w.usageCores ?? 0)} of its ${cores(w.quotaCores)}-core quota: the CPU limit is the bottleneck`,
    };
  }

  // Waiting: from the sampler's run-queue share, or (without it) from runqslower's delays over the window.
  const span = w.seconds > 0 ? w.seconds : (input.captureSeconds ?? 0);
  const fromRunq = input.runq && span > 0 ? Math.min(1, input.runq.delaySeconds / span) : undefined;
  const wait = w.waitShare ?? input.probeWaitShare ?? fromRunq ?? 0;
  evidence.wait_share_from =
    w.waitShare !== undefined
      ? 'sampler'
      : input.probeWaitShare !== undefined
        ? 'offcpu+profile'
        : fromRunq !== undefined
          ? 'runqslower'
          : 'none';
  if (w.waitShare === undefined && (input.probeWaitShare !== undefined || fromRunq !== undefined))
    evidence.wait_share = wait;
  const mostlyOthers = evidence.neighbour_share === undefined || (evidence.neighbour_share as number) >= 0.5;
  if (wait >= WAIT_HIGH && mostlyOthers) {
    return {
      cause: 'contention',
      evidence,
      summary:
        `runnable but waiting ${pct(wait)} of the time with little throttling (${pct(throttled)} of periods)` +
        (top ? `; other cgroups held the CPU, mostly ${neighbourText(top)}` : '; other tasks held the CPU'),
    };
  }
  if (wait >= WAIT_HIGH) {
    return {
      cause: 'app-bound',
      evidence,
      summary: `runnable but waiting ${pct(wait)} of the time, mostly behind its own threads (more runnable threads than CPUs), with little throttling (${pct(throttled)} of periods)`,
    };
  }
  return {
    cause: 'app-bound',
    evidence,
    summary: `neither throttled much (${pct(throttled)} of periods) nor waiting for a CPU (${pct(wait)} of runnable time): the time goes in the application itself`,
  };
}

/** True when a signal is about CPU (run queue, throttling, pressure): its incident's findings carry a diagnosis. */
export function isCpuSignal(signal: string): boolean {
  return signal.startsWith('cpu_') || signal.startsWith('runq_');
}

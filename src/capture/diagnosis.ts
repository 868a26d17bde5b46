/**
 * Why a CPU-bound incident happened, from the evidence (pure):
 * - limit-bound: the cgroup hits its CFS quota — throttled in many periods while its own demand is at the quota;
 * - contention: its tasks were runnable but waiting (throttling excluded) while other cgroups ran on its CPUs for
 *   at least NEIGHBOUR_MIN_SHARE of that wait; a neighbour is named only above that share;
 * - self-contention: waiting behind its own threads (more runnable threads than the CPUs it can use);
 * - app-bound: neither throttled nor waiting for a CPU — the time goes in the application itself;
 * - unknown: no CPU evidence at all, or waiting that no task shown by runqslower accounts for.
 * Throttling is read from the capture's own cpu.stat readings (src/capture/live.ts) when it has them.
 * The scale action scales only limit-bound workloads by default: more replicas of a workload starved by a
 * neighbour on the same node do not help.
 */
import type { Cause, Diagnosis, LiveStats, Neighbour } from '../bundle/types.ts';
import { checkedNormal, hotFunction, otherCauses, timeSplit, type ProbeEvidence, type RankedCause } from './causes.ts';
import type { WindowStats } from './window.ts';

export { isThrottleStack } from './classify.ts';
export type { ProbeEvidence } from './causes.ts';

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
  /**
   * Off-CPU evidence of the deep probes: offcpu's runnable seconds, the part of them on throttling stacks
   * (isThrottleStack) and profile's on-CPU seconds. Preferred to the sampler's run-queue share, which counts
   * task-based throttling as waiting.
   */
  readonly probeWait?: {
    readonly runnableSeconds: number;
    readonly throttledSeconds: number;
    readonly onCpuSeconds: number;
  };
  /** The target measured by the capture itself: its throttling is authoritative. */
  readonly live?: LiveStats;
  /** Names of a cgroup path (`shop/batch-1 (Job shop/nightly)`), '' when it has none: neighbours are named by it. */
  readonly nameOf?: CgroupNamer;
  /** The deep probes' evidence beyond the CPU (locks, I/O, syscalls, memory, the hot function): src/capture/causes.ts. */
  readonly probes?: ProbeEvidence;
}

/** Names of a cgroup from its path, in one line; '' when it has none (the engine's pod directory answers). */
export type CgroupNamer = (cgroupPath: string) => string;

const pct = (x: number): string => `${Math.round(x * 100)}%`;
const cores = (x: number): string => `${+x.toFixed(2)}`;
const coresText = (x: number): string => `${cores(x)} core${cores(x) === '1' ? '' : 's'}`;

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

/** Share of the target's waiting a neighbour (or its own threads) must account for to be named as the cause. */
export const NEIGHBOUR_MIN_SHARE = 0.2;

/** What to do about each cause, one line (the lead line's second half). */
const ADVICE: Readonly<Record<Cause, string>> = {
  'limit-bound': 'raise its CPU limit or add replicas: it uses all the CPU it is allowed',
  contention:
    'move it or the neighbour (anti-affinity, another node, CPU pinning) or lower the neighbour; more replicas here do not help',
  'self-contention': 'raise its CPU limit or shrink its thread pool to the CPUs it can use',
  'lock-contention': 'shorten or split the critical section the waiters queue on; more CPU or replicas do not help',
  'io-bound':
    'batch the flushes (group commit), move the file to faster storage or check the device; more CPU does not help',
  'syscall-storm': 'batch the calls in the calling code (bigger buffers, fewer wake-ups, no polling)',
  'memory-pressure': 'raise its memory limit or shrink its working set: reclaim stalls it',
  'app-bound': 'optimise the hot function or add replicas: the time goes in its own code',
  unknown: 'capture longer, or with offcpu, profile, syscalls and io together',
};

/**
 * Diagnoses the target: the CPU verdict (cpuVerdict) and the other causes (causes.ts), ranked by their share of
 * the target's busy time; the first leads, the rest are `also`. Every diagnosis says what was checked and normal.
 */
export function diagnose(input: DiagnosisInput): Diagnosis {
  const cpu = cpuVerdict(input);
  const ev = input.probes;
  const t = ev ? timeSplit(ev) : undefined;
  const evidence: Record<string, number | string> = { ...cpu.evidence };
  if (t && t.busy > 0) {
    evidence.busy_thread_seconds = t.busy;
    for (const [k, v] of [
      ['on_cpu', t.onCpu],
      ['runnable', t.runnable],
      ['throttled', t.throttled],
      ['lock', t.lock],
      ['io', t.io],
      ['memory', t.memory + t.onCpuReclaim],
    ] as const)
      evidence[`${k}_share_of_busy`] = v / t.busy;
  }
  const others = ev ? otherCauses(ev, t) : [];
  const cpuRanked = cpuCause(cpu, t);
  const ranked = [...(cpuRanked ? [cpuRanked] : []), ...others].sort((a, b) => b.share - a.share);
  let top: RankedCause | undefined = ranked[0];
  // Running most of its busy time with no other cause: the hot function, whatever the sampler could say.
  if (!top) top = (ev && hotFunction(ev, t)) ?? (cpu.cause === 'app-bound' ? appBound(cpu) : undefined);
  const named = ranked.map((r) => r.cause);
  const checked = ev ? checkedNormal(ev, t, named) : [];
  if (!top) {
    const why = cpu.cause === 'unknown' ? cpu.summary : 'no cause reached its share of the busy time';
    return {
      cause: 'unknown',
      evidence,
      summary: why,
      lead: `unknown: ${why}${checked.length ? `; checked: ${checked.join('; ')}` : ''}`,
      advice: ADVICE.unknown,
      checked,
    };
  }
  if (top.culprit) evidence.culprit = top.culprit;
  return {
    cause: top.cause,
    evidence,
    summary: top === cpuRanked ? cpu.summary : top.summary,
    ...(top.culprit ? { culprit: top.culprit } : {}),
    lead: top.lead,
    advice: ADVICE[top.cause],
    also: ranked
      .filter((r) => r !== top)
      .map(({ cause, culprit, share, summary }) => ({ cause, share, summary, ...(culprit ? { culprit } : {}) })),
    checked,
  };
}

/** The CPU verdict as a ranked cause: its share of busy time (throttling, or waiting behind others or itself). */
function cpuCause(cpu: Diagnosis, t: ReturnType<typeof timeSplit>): RankedCause | undefined {
  const e = cpu.evidence;
  const n = (k: string): number => (typeof e[k] === 'number' ? (e[k] as number) : 0);
  // Shares of busy time when the probes split it (comparable with the other causes), else of the CPU evidence.
  const split = t && t.busy > 0 ? t : undefined;
  const waitShare = split ? split.runnable / split.busy : n('wait_share');
  if (cpu.cause === 'limit-bound') {
    const share = split ? split.throttled / split.busy : n('throttled_ratio');
    const quota = n('quota_cores');
    return {
      cause: 'limit-bound',
      share,
      culprit: `its CPU quota of ${+quota.toFixed(2)} cores`,
      lead: `limit-bound: throttled in ${pct(n('throttled_ratio'))} of CFS periods, using ${cores(n('usage_cores'))} of its ${cores(quota)}-core quota`,
      summary: cpu.summary,
    };
  }
  if (cpu.cause === 'contention') {
    const named = typeof e.top_neighbour === 'string' ? e.top_neighbour : undefined;
    return {
      cause: 'contention',
      share: waitShare * n('others_share_of_wait'),
      ...(named ? { culprit: named } : {}),
      lead: named
        ? `contention: ${named} ran for ${pct(n('top_neighbour_share'))} of the target's wait (waiting for a CPU ${pct(n('wait_share'))} of the time)`
        : `contention: other cgroups ran for ${pct(n('others_share_of_wait'))} of the target's wait, none for ${pct(NEIGHBOUR_MIN_SHARE)} alone`,
      summary: cpu.summary,
    };
  }
  if (cpu.cause === 'self-contention') {
    const threads = n('runnable_threads_mean');
    return {
      cause: 'self-contention',
      share: waitShare * n('own_share_of_wait'),
      culprit: `its own threads${threads ? ` (${+threads.toFixed(1)} runnable on average)` : ''}`,
      lead: `self-contention: its own threads ran for ${pct(n('own_share_of_wait'))} of its wait (waiting for a CPU ${pct(n('wait_share'))} of the time${threads ? `, ${+threads.toFixed(1)} runnable threads for ${coresText(n('usage_cores'))}` : ''})`,
      summary: cpu.summary,
    };
  }
  return undefined;
}

/** app-bound without a profile: no hot function to name. */
function appBound(cpu: Diagnosis): RankedCause {
  return { cause: 'app-bound', share: 1, lead: `CPU app-bound: ${cpu.summary}`, summary: cpu.summary };
}

/** The CPU verdict: limit-bound, contention, self-contention, app-bound or unknown; evidence keeps every number. */
function cpuVerdict(input: DiagnosisInput): Diagnosis {
  const w = input.window;
  const live = input.live;
  const evidence: Record<string, number | string> = {};
  // The capture's own readings of cpu.stat are authoritative; the sampler's history fills in what they lack.
  const throttledRatio = live?.throttledRatio ?? w.throttledRatio;
  const usageCores = live?.usageCores ?? w.usageCores;
  const quotaCores = live?.quotaCores ?? w.quotaCores;
  if (throttledRatio !== undefined) evidence.throttled_ratio = throttledRatio;
  evidence.throttled_from =
    live?.throttledRatio !== undefined ? 'capture' : w.throttledRatio !== undefined ? 'sampler' : 'none';
  if (live?.throttledSeconds !== undefined) evidence.throttled_seconds = live.throttledSeconds;
  if (usageCores !== undefined) evidence.usage_cores = usageCores;
  if (quotaCores !== undefined) evidence.quota_cores = quotaCores;
  if (w.waitShare !== undefined) evidence.sampler_wait_share = w.waitShare;
  if (w.pressureShare !== undefined) evidence.pressure_share = w.pressureShare;
  for (const [r, p] of Object.entries(live?.pressure ?? {})) {
    if (p?.some !== undefined) evidence[`psi_${r}_some`] = p.some;
  }
  if (live?.pressureScope) evidence.psi_scope = live.pressureScope;
  if (w.points > 0) evidence.window_seconds = w.seconds;
  if (live && live.samples > 0) evidence.live_seconds = live.seconds;

  const hasCpu =
    throttledRatio !== undefined ||
    usageCores !== undefined ||
    w.waitShare !== undefined ||
    input.probeWait !== undefined;
  if (!hasCpu && !input.runq)
    return {
      cause: 'unknown',
      summary: 'no CPU evidence for the target in the window (no cpu.stat, run-queue or runqslower data)',
      evidence,
    };

  const pw = input.probeWait;
  const waitSeconds = pw ? Math.max(0, pw.runnableSeconds - pw.throttledSeconds) : undefined;
  if (pw) {
    evidence.offcpu_runnable_seconds = pw.runnableSeconds;
    evidence.throttle_wait_seconds = pw.throttledSeconds;
  }
  const throttled = throttledRatio ?? 0;
  const demand = quotaCores && usageCores !== undefined ? usageCores / quotaCores : undefined;
  if (demand !== undefined) evidence.demand_of_quota = demand;
  if (
    quotaCores !== undefined &&
    throttled >= THROTTLED_HIGH &&
    ((demand ?? 0) >= DEMAND_AT_QUOTA || throttled >= THROTTLED_SEVERE)
  ) {
    return {
      cause: 'limit-bound',
      evidence,
      summary: `throttled in ${pct(throttled)} of CFS periods while using ${usageCores !== undefined ? cores(usageCores) : 'an unmeasured share'} of its ${cores(quotaCores)}-core quota: the CPU limit is the bottleneck`,
    };
  }

  // Waiting for a CPU, throttling excluded: offcpu's runnable time less its throttling stacks (vs on-CPU time),
  // else the sampler's run-queue share, else runqslower's delays over the window.
  const probeShare =
    pw && waitSeconds !== undefined && waitSeconds + pw.onCpuSeconds > 0
      ? waitSeconds / (waitSeconds + pw.onCpuSeconds)
      : undefined;
  const span = w.seconds > 0 ? w.seconds : (input.captureSeconds ?? 0);
  const fromRunq = input.runq && span > 0 ? Math.min(1, input.runq.delaySeconds / span) : undefined;
  const wait = probeShare ?? w.waitShare ?? fromRunq ?? 0;
  evidence.wait_share = wait;
  evidence.wait_share_from =
    probeShare !== undefined
      ? 'offcpu+profile'
      : w.waitShare !== undefined
        ? 'sampler'
        : fromRunq !== undefined
          ? 'runqslower'
          : 'none';

  // Who held the CPU meanwhile (runqslower), as shares of the target's waiting: the larger of runqslower's total
  // delay and offcpu's non-throttling runnable time, so a task that ran briefly is not blamed for a long wait.
  const nbs = input.runq?.neighbours ?? [];
  const otherDelay = nbs.filter((n) => n.cgroupId !== input.cgroupId).reduce((a, n) => a + n.delaySeconds, 0);
  const ownDelay = nbs.filter((n) => n.cgroupId === input.cgroupId).reduce((a, n) => a + n.delaySeconds, 0);
  const waited = Math.max(input.runq?.delaySeconds ?? 0, waitSeconds ?? 0);
  if (input.runq) {
    evidence.runq_delays = input.runq.delays;
    evidence.runq_delay_seconds = input.runq.delaySeconds;
  }
  const othersShare = waited > 0 ? Math.min(1, otherDelay / waited) : 0;
  const ownShare = waited > 0 ? Math.min(1, ownDelay / waited) : 0;
  if (input.runq) {
    evidence.others_share_of_wait = othersShare;
    evidence.own_share_of_wait = ownShare;
  }
  const top = topNeighbour(input.runq, input.cgroupId, input.nameOf);
  const topShare = top && waited > 0 ? Math.min(1, top.delaySeconds / waited) : 0;
  const named = top && topShare >= NEIGHBOUR_MIN_SHARE ? top : undefined;
  if (top) evidence.top_neighbour_share = topShare;
  if (named) evidence.top_neighbour = neighbourText(named);

  if (wait >= WAIT_HIGH && othersShare >= NEIGHBOUR_MIN_SHARE && othersShare >= ownShare) {
    return {
      cause: 'contention',
      evidence,
      summary:
        `runnable but waiting ${pct(wait)} of the time with little throttling (${pct(throttled)} of periods); ` +
        `other cgroups ran for ${pct(othersShare)} of that wait` +
        (named
          ? `, mostly ${neighbourText(named)} (${pct(topShare)} of the wait)`
          : `, none of them for ${pct(NEIGHBOUR_MIN_SHARE)} of it alone`),
    };
  }
  // Threads runnable on average (waiting or running), from the probes: against the cores it got.
  const threads =
    pw && waitSeconds !== undefined && input.captureSeconds
      ? (waitSeconds + pw.onCpuSeconds) / input.captureSeconds
      : undefined;
  if (threads !== undefined) evidence.runnable_threads_mean = threads;
  if (wait >= WAIT_HIGH && ownShare >= NEIGHBOUR_MIN_SHARE) {
    return {
      cause: 'self-contention',
      evidence,
      summary:
        `runnable but waiting ${pct(wait)} of the time behind its own threads (${pct(ownShare)} of the wait; other cgroups ${pct(othersShare)}): more runnable threads than the CPUs it can use` +
        (threads !== undefined && usageCores !== undefined
          ? ` (on average ${+threads.toFixed(1)} runnable threads for ${coresText(usageCores)} used)`
          : '') +
        `, little throttling (${pct(throttled)} of periods)`,
    };
  }
  if (wait >= WAIT_HIGH) {
    return {
      cause: 'unknown',
      evidence,
      summary: input.runq
        ? `runnable but waiting ${pct(wait)} of the time, yet neither other cgroups (${pct(othersShare)}) nor its own threads (${pct(ownShare)}) ran for ${pct(NEIGHBOUR_MIN_SHARE)} of that wait on its CPUs`
        : `runnable but waiting ${pct(wait)} of the time; without runqslower nothing shows who held the CPU`,
    };
  }
  return {
    cause: 'app-bound',
    evidence,
    summary: `neither throttled much (${pct(throttled)} of periods) nor waiting for a CPU (${pct(wait)} of runnable time): the time goes in the application itself`,
  };
}

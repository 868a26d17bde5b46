/** What a capture produces and the actions consume: a bundle on disk and its findings. */
import type { Neighbour, StackWeight } from '../probes/deep/evidence.ts';

/** Deep-probe evidence the findings carry, defined by the probes that produce it. */
export type { Neighbour, StackWeight };

/** Causes of an incident, from the evidence (see src/capture/diagnosis.ts and src/capture/causes.ts). */
export const CAUSES = [
  'limit-bound',
  'contention',
  'self-contention',
  'lock-contention',
  'io-bound',
  'syscall-storm',
  'memory-pressure',
  'app-bound',
  'unknown',
] as const;
export type Cause = (typeof CAUSES)[number];

/** One cause that applies, with its culprit and the share of the target's busy time it accounts for. */
export interface CauseFinding {
  readonly cause: Cause;
  /** Who or what, in a few words: a neighbour, a lock and its waiters, a file, a syscall, a function. */
  readonly culprit?: string;
  /** Share of the target's time (on CPU, waiting for one, or blocked on something other than idling), 0..1. */
  readonly share: number;
  /** One sentence with the numbers behind it. */
  readonly summary: string;
}

export interface Diagnosis {
  readonly cause: Cause;
  /** One sentence in plain words, e.g. "throttled in 84% of CFS periods while using 1.0 of its 1.0-core quota". */
  readonly summary: string;
  /** The numbers behind the verdict (throttled ratio, runq share, usage vs quota, ...). */
  readonly evidence: Readonly<Record<string, number | string>>;
  /** The cause's culprit in a few words (absent when none is named). */
  readonly culprit?: string;
  /** The answer in one line: cause, culprit, the number behind it (what summary.md, the CLI and Slack start with). */
  readonly lead?: string;
  /** What to do about it, one line. */
  readonly advice?: string;
  /** Other causes that apply too, ranked by their share (most first). */
  readonly also?: readonly CauseFinding[];
  /** What was checked and found normal (every diagnosis; the whole answer of an unknown one). */
  readonly checked?: readonly string[];
}

/** PSI stall of one resource as a share of the capture window, 0..1. */
export interface PressureShares {
  readonly some?: number;
  readonly full?: number;
}

/** One reading of the target cgroup's files (cumulative counters as the kernel gives them). At in ms since the epoch. */
export interface LiveSample {
  readonly at: number;
  readonly periods?: number;
  readonly throttledPeriods?: number;
  readonly throttledSeconds?: number;
  readonly usageSeconds?: number;
  readonly quotaCores?: number;
  /** PSI totals in seconds (`total=` of the some/full lines) per resource. */
  readonly pressure?: Readonly<Partial<Record<'cpu' | 'memory' | 'io', { some?: number; full?: number }>>>;
}

/** The target measured by the capture itself (src/capture/live.ts): deltas from the first to the last reading. */
export interface LiveStats {
  readonly samples: number;
  readonly seconds: number;
  readonly cpuPeriods?: number;
  readonly throttledPeriods?: number;
  /** Throttled / elapsed CFS periods, 0..1: authoritative for throttling. */
  readonly throttledRatio?: number;
  readonly throttledSeconds?: number;
  readonly usageCores?: number;
  readonly quotaCores?: number;
  readonly pressure: Readonly<Partial<Record<'cpu' | 'memory' | 'io', PressureShares>>>;
  /** Whose PSI: the cgroup's own files (v2), or the node's (/proc/pressure) when the hierarchy has none. */
  readonly pressureScope?: 'cgroup' | 'node';
  readonly series: readonly LiveSample[];
}

export interface Findings {
  readonly diagnosis?: Diagnosis;
  /** The target cgroup as the capture measured it (absent for a target without a cgroup). */
  readonly live?: LiveStats;
  /** Plain-words lines, most important first (for summary.md and Slack). */
  readonly headlines: readonly string[];
  readonly neighbours: readonly Neighbour[];
  readonly topOnCpu: readonly StackWeight[];
  readonly topOffCpu: readonly StackWeight[];
  readonly slowSyscalls: readonly { syscall: string; pid: number; comm: string; seconds: number; args: string }[];
  readonly slowQueries: readonly { query: string; seconds: number; pid: number }[];
  /** Baseline comparison: signal -> { before, during } (e.g. runq p99 seconds). */
  readonly shifts: Readonly<Record<string, { readonly before: number; readonly during: number }>>;
}

/** Result of one capture, as handed to actions. */
export interface BundleRef {
  /** Bundle id: `<UTC yyyymmddThhmmss>-<rule>-<8 hex>` (generated, never from event data beyond the validated rule name). */
  readonly id: string;
  readonly dir: string;
  readonly tarball: string;
  readonly partial: boolean;
  readonly findings: Findings;
}

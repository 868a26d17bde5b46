/** What a capture produces and the actions consume: a bundle on disk and its findings. */
import type { Neighbour, StackWeight } from '../probes/deep/evidence.ts';

/** Deep-probe evidence the findings carry, defined by the probes that produce it. */
export type { Neighbour, StackWeight };

/** Cause of a CPU incident, from the evidence (see src/capture/diagnosis.ts). */
export type Cause = 'limit-bound' | 'contention' | 'app-bound' | 'unknown';

export interface Diagnosis {
  readonly cause: Cause;
  /** One sentence in plain words, e.g. "throttled in 84% of CFS periods while using 1.0 of its 1.0-core quota". */
  readonly summary: string;
  /** The numbers behind the verdict (throttled ratio, runq share, usage vs quota, ...). */
  readonly evidence: Readonly<Record<string, number | string>>;
}

export interface Findings {
  readonly diagnosis?: Diagnosis;
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

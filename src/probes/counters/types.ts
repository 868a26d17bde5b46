/**
 * Always-on counter families: each reads its kernel maps (or files) and returns cumulative readings.
 * The sampler (src/sampler/sampler.ts) turns readings into per-tick deltas (Samples) and adds cgroup labels.
 */
import type { Labels } from '../../samples.ts';
import type { Config } from '../../config.ts';

/** A cumulative value as read now. Per-cgroup readings carry the label `cgroup_id` (decimal); the sampler adds the other cgroup labels. */
export type Reading =
  | { readonly kind: 'counter'; readonly signal: string; readonly labels: Labels; readonly value: number }
  | { readonly kind: 'gauge'; readonly signal: string; readonly labels: Labels; readonly value: number }
  | {
      readonly kind: 'histogram';
      readonly signal: string;
      readonly labels: Labels;
      /** Upper bound of each bucket in base units (last may be Infinity). */
      readonly bounds: readonly number[];
      /** Cumulative count per bucket since the family started (not cumulative across buckets). */
      readonly counts: readonly number[];
      /** Cumulative sum of observed values in base units, when the kernel keeps one. */
      readonly sum?: number;
    };

/** Health of a family, exported on /metrics. */
export interface FamilyStats {
  readonly programs: number;
  /** Events the kernel side could not record (full maps, ring buffer drops). */
  readonly dropped: number;
  /** Cumulative in-kernel run time and runs of the family's programs (needs kernel.bpf_stats_enabled=1). */
  readonly runTimeNs?: number;
  readonly runCount?: number;
}

export interface CounterFamily {
  readonly name: string;
  /** Reads everything the family has now. Called once per tick; must not block long. */
  read(): Reading[];
  stats(): FamilyStats;
  /** Sets the run-time watch list, replacing the previous one (families that filter in the kernel; configured entries stay). */
  watch?(target: { cgroupIds?: readonly bigint[]; pids?: readonly number[] }): void;
  /** What the kernel's watch lists hold now: configured and run-time entries. */
  watching?(): { cgroupIds: bigint[]; pids: number[] };
  /** What `tripline probes` should say beyond the program count (e.g. what the family cannot see here). */
  notes?(): string[];
  /** Detaches and frees everything (idempotent). */
  close(): void;
}

export interface CounterContext {
  readonly config: Readonly<Config>;
  /** Directory of the compiled BPF objects (build/bpf). */
  readonly objDir: string;
}

/**
 * A family's entry in the counter registry (src/probes/counters/index.ts). Registry entries take name, bpf and
 * signals from their descriptor (spec/<name>.ts, `entryFields`); test doubles may set them directly.
 */
export interface CounterFactory {
  readonly name: string;
  /** Signals (catalog names) it produces. */
  readonly signals: readonly string[];
  /** True when it needs BPF (false: file-based, kept with --no-bpf). */
  readonly bpf: boolean;
  /** Starts the family; throws a TriplineError (PROBE_ERR_*) with a hint when it cannot run here. */
  start(ctx: CounterContext): CounterFamily;
}

/** Samples: what the sampler publishes each tick, typed, in base units. The input of the rules engine. */

/** Label set of one series. Keys are catalog label names; values are strings. */
export type Labels = Readonly<Record<string, string>>;

/** A monotonic counter: `delta` is the increase since the previous tick (wrap- and reset-safe), `total` the current value. */
export interface CounterSample {
  readonly kind: 'counter';
  readonly signal: string;
  readonly labels: Labels;
  readonly delta: number;
  readonly total: number;
}

/** A value read as it is now (e.g. PSI averages, programs attached). */
export interface GaugeSample {
  readonly kind: 'gauge';
  readonly signal: string;
  readonly labels: Labels;
  readonly value: number;
}

/**
 * A histogram delta: counts observed since the previous tick, per bucket.
 * `bounds[i]` is the inclusive upper bound of bucket i in the signal's base unit (seconds for latencies);
 * the last bound may be Infinity. `deltas.length === bounds.length`.
 */
export interface HistogramSample {
  readonly kind: 'histogram';
  readonly signal: string;
  readonly labels: Labels;
  readonly bounds: readonly number[];
  readonly deltas: readonly number[];
  /** Sum of observed values since the previous tick, base unit (estimated from bucket midpoints when the kernel keeps no sum). */
  readonly sumDelta: number;
  readonly countDelta: number;
}

export type Sample = CounterSample | GaugeSample | HistogramSample;

/** One sampler tick: every sample read at `at` (ms since the epoch), `intervalMs` after the previous tick. */
export interface Tick {
  readonly at: number;
  readonly intervalMs: number;
  readonly samples: readonly Sample[];
}

/** Canonical series id: signal plus sorted labels, e.g. `runq_delay_seconds{cgroup="/a",cgroup_id="12"}`. */
export function seriesKey(signal: string, labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return `${signal}{${keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
}

/** True when two label sets hold the same names and values. */
export function sameLabels(a: Labels, b: Labels): boolean {
  for (const k in a) if (a[k] !== b[k]) return false;
  for (const k in b) if (!(k in a)) return false;
  return true;
}

/** Log2 bucket bounds in base units: bucket i holds values in [2^(i-1), 2^i) of `unitSeconds` (bucket 0 holds 0..1). */
export function log2Bounds(slots: number, unitSeconds: number): number[] {
  const bounds: number[] = [];
  for (let i = 0; i < slots; i++) bounds.push(i === slots - 1 ? Infinity : 2 ** i * unitSeconds);
  return bounds;
}

/**
 * Per-series state of the sampler and the pure step that turns a cumulative Reading into a Sample:
 * counter deltas that survive resets and wraps (value below the previous one = the counter restarted: delta = value),
 * histogram bucket deltas, gauges as they are. The state also keeps monotonic totals for /metrics.
 */
import type { Labels, Sample } from '../samples.ts';
import type { Reading } from '../probes/counters/types.ts';

interface StateBase {
  readonly signal: string;
  /** Labels as exported (cgroup labels resolved); refreshed each tick. */
  labels: Labels;
  /** Decimal cgroup id when the series is per cgroup. */
  readonly cgroupId: string | undefined;
  /** Tick number of the latest reading (the sampler forgets series its family stopped reporting). */
  seen?: number;
  /** The latest sample: handed out again while the series does not move, so a quiet series allocates nothing. */
  last?: Sample;
}
/** Counter: `total` only grows (sum of deltas since the first reading, starting at that reading's value). */
export interface CounterState extends StateBase {
  readonly kind: 'counter';
  raw: number;
  total: number;
  delta: number;
}
export interface GaugeState extends StateBase {
  readonly kind: 'gauge';
  value: number;
}
/** Histogram: `counts` and `sum` accumulate deltas, so they never go down even when the kernel side restarts. */
export interface HistogramState extends StateBase {
  readonly kind: 'histogram';
  bounds: readonly number[];
  rawCounts: readonly number[];
  rawSum: number | undefined;
  counts: number[];
  sum: number;
  count: number;
  countDelta: number;
}
export type SeriesState = CounterState | GaugeState | HistogramState;

/** Increase of a cumulative counter; a value below the previous one means it restarted (reset, or wrapped: the part before the wrap is lost). */
export function counterDelta(prev: number, value: number): number {
  return value >= prev ? value - prev : value;
}

/** Sum of values estimated from bucket counts (bucket midpoint; the open last bucket counts at its lower bound). */
export function estimateSum(bounds: readonly number[], counts: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] === 0) continue;
    const lo = i === 0 ? 0 : bounds[i - 1];
    const hi = bounds[i];
    sum += counts[i] * (Number.isFinite(hi) ? (lo + hi) / 2 : lo);
  }
  return sum;
}

/** Bucket deltas; a bucket that went down (or other bounds) means the histogram restarted: deltas = counts. */
export function histogramDelta(
  prevBounds: readonly number[],
  prev: readonly number[],
  bounds: readonly number[],
  counts: readonly number[],
): { deltas: number[]; reset: boolean } {
  let reset = prevBounds.length !== bounds.length || prev.length !== counts.length;
  for (let i = 0; !reset && i < counts.length; i++)
    if (counts[i] < prev[i] || prevBounds[i] !== bounds[i]) reset = true;
  return { deltas: reset ? counts.slice() : counts.map((c, i) => c - prev[i]), reset };
}

function sumOf(a: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

/** True when a histogram reading repeats the state's raw values (nothing observed since). */
function sameHistogram(s: HistogramState, r: Extract<Reading, { kind: 'histogram' }>): boolean {
  if (r.bounds !== s.bounds || r.sum !== s.rawSum || r.counts.length !== s.rawCounts.length) return false;
  for (let i = 0; i < r.counts.length; i++) if (r.counts[i] !== s.rawCounts[i]) return false;
  return true;
}

const zeros = new Map<number, readonly number[]>();
/** A shared frozen array of `n` zeros (the deltas of a histogram that did not move). */
function zerosOf(n: number): readonly number[] {
  let z = zeros.get(n);
  if (!z) zeros.set(n, (z = Object.freeze(new Array<number>(n).fill(0))));
  return z;
}

/** State of a series seen for the first time: a baseline (its first sample has zero deltas, so a restart of tripline is not a spike). */
export function newState(r: Reading, labels: Labels, cgroupId: string | undefined): SeriesState {
  if (r.kind === 'counter')
    return { kind: 'counter', signal: r.signal, labels, cgroupId, raw: r.value, total: r.value, delta: 0 };
  if (r.kind === 'gauge') return { kind: 'gauge', signal: r.signal, labels, cgroupId, value: r.value };
  const counts = r.counts.slice();
  return {
    kind: 'histogram',
    signal: r.signal,
    labels,
    cgroupId,
    bounds: r.bounds,
    rawCounts: r.counts,
    rawSum: r.sum,
    counts,
    sum: r.sum ?? estimateSum(r.bounds, counts),
    count: sumOf(counts),
    countDelta: 0,
  };
}

/** The sample of a state as it is now (zero deltas for a fresh baseline). */
export function baselineSample(s: SeriesState): Sample {
  if (s.kind === 'counter') return { kind: 'counter', signal: s.signal, labels: s.labels, delta: 0, total: s.total };
  if (s.kind === 'gauge') return { kind: 'gauge', signal: s.signal, labels: s.labels, value: s.value };
  return {
    kind: 'histogram',
    signal: s.signal,
    labels: s.labels,
    bounds: s.bounds,
    deltas: s.bounds.map(() => 0),
    sumDelta: 0,
    countDelta: 0,
  };
}

/** Advances a state with a new reading of the same series; returns the tick's sample, or null when the kind changed (start a new state). */
export function advance(s: SeriesState, r: Reading, labels: Labels): Sample | null {
  s.labels = labels;
  if (s.kind === 'counter' && r.kind === 'counter') {
    const delta = counterDelta(s.raw, r.value);
    s.raw = r.value;
    s.delta = delta;
    const last = s.last;
    if (delta === 0 && last?.kind === 'counter' && last.delta === 0 && last.labels === labels) return last;
    s.total += delta;
    return (s.last = { kind: 'counter', signal: s.signal, labels, delta, total: s.total });
  }
  if (s.kind === 'gauge' && r.kind === 'gauge') {
    s.value = r.value;
    const last = s.last;
    if (last?.kind === 'gauge' && last.value === r.value && last.labels === labels) return last;
    return (s.last = { kind: 'gauge', signal: s.signal, labels, value: r.value });
  }
  if (s.kind === 'histogram' && r.kind === 'histogram') {
    if (sameHistogram(s, r)) {
      const last = s.last;
      s.countDelta = 0;
      if (last?.kind === 'histogram' && last.countDelta === 0 && last.sumDelta === 0 && last.labels === labels)
        return last;
      const deltas = zerosOf(r.counts.length);
      return (s.last = {
        kind: 'histogram',
        signal: s.signal,
        labels,
        bounds: r.bounds,
        deltas,
        sumDelta: 0,
        countDelta: 0,
      });
    }
    const { deltas, reset } = histogramDelta(s.bounds, s.rawCounts, r.bounds, r.counts);
    let sumDelta: number;
    if (r.sum !== undefined && s.rawSum !== undefined && !reset && r.sum >= s.rawSum) sumDelta = r.sum - s.rawSum;
    else if (r.sum !== undefined && (reset || s.rawSum === undefined)) sumDelta = r.sum;
    else sumDelta = estimateSum(r.bounds, deltas);
    if (reset) s.counts = s.counts.length === deltas.length ? s.counts : deltas.map(() => 0);
    for (let i = 0; i < deltas.length; i++) s.counts[i] += deltas[i];
    const countDelta = sumOf(deltas);
    s.bounds = r.bounds;
    s.rawCounts = r.counts;
    s.rawSum = r.sum;
    s.sum += sumDelta;
    s.count += countDelta;
    s.countDelta = countDelta;
    return (s.last = { kind: 'histogram', signal: s.signal, labels, bounds: r.bounds, deltas, sumDelta, countDelta });
  }
  return null;
}

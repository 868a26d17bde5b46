/**
 * Statistics over a window of one group of series (the series a rule's group_by puts together).
 * Pure: reads the windows, allocates nothing per call except on first use of a bucket layout.
 *
 * | stat          | histogram                               | counter                                   | gauge                         |
 * |---------------|-----------------------------------------|-------------------------------------------|-------------------------------|
 * | p50 … p999    | quantile of the summed bucket deltas ¹  | NaN                                       | NaN                           |
 * | mean          | sum of values / count                   | rate                                      | mean of samples (group: sum)  |
 * | max / min     | bound of highest / lowest used bucket   | highest / lowest per-tick rate            | max / min sample              |
 * | last          | mean of the newest tick                 | per-second rate of the newest tick        | newest sample (group: sum)    |
 * | rate          | observations per second                 | increase per second                       | NaN                           |
 * | increase      | observations                            | sum of deltas                             | NaN                           |
 * | count         | observations                            | sum of deltas                             | samples in the window         |
 *
 * A group sums counters and histogram buckets across its series; rates divide by the time the window
 * actually covers (shorter while a series warms up). NaN means "no data": no condition holds on it.
 * ¹ `histogramQuantile` of src/quantile.ts: the function deep probe summaries use too, so the numbers agree.
 */
import { histogramQuantile } from '../../quantile.ts';
import type { Stat } from '../types.ts';
import type { SeriesWindow } from './window.ts';

/** Quantile levels by stat name. */
export const QUANTILES: Readonly<Partial<Record<Stat, number>>> = {
  p50: 0.5,
  p90: 0.9,
  p95: 0.95,
  p99: 0.99,
  p999: 0.999,
};

/** Upper bound of the highest non-empty bucket (its lower bound when it is +Inf); NaN when empty. */
export function histogramMax(bounds: readonly number[], counts: ArrayLike<number>): number {
  for (let i = bounds.length - 1; i >= 0; i--) {
    if (counts[i] > 0) return bounds[i] === Infinity ? (i === 0 ? 0 : bounds[i - 1]) : bounds[i];
  }
  return NaN;
}

/** Lower bound of the lowest non-empty bucket; NaN when empty. */
export function histogramMin(bounds: readonly number[], counts: ArrayLike<number>): number {
  for (let i = 0; i < bounds.length; i++) if (counts[i] > 0) return i === 0 ? 0 : bounds[i - 1];
  return NaN;
}

const scratch = new Map<number, Float64Array>();
function bucketScratch(n: number): Float64Array {
  let a = scratch.get(n);
  if (!a) {
    a = new Float64Array(n);
    scratch.set(n, a);
  }
  a.fill(0);
  return a;
}

/** Counter increase (histogram: observations) of one series over the window, and the time it covers. */
function increaseOf(w: SeriesWindow, j: number): number {
  return w.total - w.before(j);
}
function coveredMs(w: SeriesWindow, j: number, windowMs: number): number {
  return Math.min(windowMs, w.lastAt - w.atOf(j) + w.intervalOf(j));
}

/** Sum of counter increases of the series over the window (0 when every series is idle; NaN when none has a sample in it). */
export function increase(wins: readonly SeriesWindow[], now: number, windowMs: number): number {
  let sum = 0,
    seen = false;
  for (const w of wins) {
    const j = w.firstIn(now, windowMs);
    if (j >= w.n) continue;
    seen = true;
    sum += increaseOf(w, j);
  }
  return seen ? sum : NaN;
}

/** Ratio of the increases of two groups of counters over the same window; NaN when the denominator did not move. */
export function ratio(
  num: readonly SeriesWindow[],
  den: readonly SeriesWindow[],
  now: number,
  windowMs: number,
): number {
  const d = increase(den, now, windowMs);
  if (!(d > 0)) return NaN;
  const n = increase(num, now, windowMs);
  return Number.isNaN(n) ? 0 : n / d;
}

/** One statistic of a group of same-kind series over `windowMs` ending at `now`. See the table above. */
export function windowStat(wins: readonly SeriesWindow[], stat: Stat, now: number, windowMs: number): number {
  if (wins.length === 0) return NaN;
  const kind = wins[0].kind;
  if (kind === 'histogram') return histogramStat(wins, stat, now, windowMs);
  if (kind === 'counter') return counterStat(wins, stat, now, windowMs);
  return gaugeStat(wins, stat, now, windowMs);
}

function counterStat(wins: readonly SeriesWindow[], stat: Stat, now: number, windowMs: number): number {
  switch (stat) {
    case 'increase':
    case 'count':
      return increase(wins, now, windowMs);
    case 'rate':
    case 'mean': {
      let sum = 0,
        covered = 0,
        seen = false;
      for (const w of wins) {
        const j = w.firstIn(now, windowMs);
        if (j >= w.n) continue;
        seen = true;
        sum += increaseOf(w, j);
        covered = Math.max(covered, coveredMs(w, j, windowMs));
      }
      return seen && covered > 0 ? sum / (covered / 1000) : NaN;
    }
    case 'last': {
      let sum = 0,
        seen = false;
      for (const w of wins) {
        if (w.n === 0 || w.lastAt <= now - windowMs) continue;
        const j = w.n - 1;
        const iv = w.intervalOf(j);
        if (iv > 0) {
          sum += w.deltaOf(j) / (iv / 1000);
          seen = true;
        }
      }
      return seen ? sum : NaN;
    }
    case 'max':
    case 'min': {
      let best = NaN;
      for (const w of wins) {
        for (let j = w.firstIn(now, windowMs); j < w.n; j++) {
          const iv = w.intervalOf(j);
          if (!(iv > 0)) continue;
          const r = w.deltaOf(j) / (iv / 1000);
          if (Number.isNaN(best) || (stat === 'max' ? r > best : r < best)) best = r;
        }
      }
      return best;
    }
    default:
      return NaN;
  }
}

function gaugeStat(wins: readonly SeriesWindow[], stat: Stat, now: number, windowMs: number): number {
  let acc = NaN;
  for (const w of wins) {
    const j0 = w.firstIn(now, windowMs);
    if (j0 >= w.n) continue;
    let v: number;
    switch (stat) {
      case 'last':
        v = w.valueOf(w.n - 1);
        break;
      case 'count':
        v = w.n - j0;
        break;
      case 'mean': {
        let s = 0;
        for (let j = j0; j < w.n; j++) s += w.valueOf(j);
        v = s / (w.n - j0);
        break;
      }
      case 'max': {
        v = -Infinity;
        for (let j = j0; j < w.n; j++) v = Math.max(v, w.valueOf(j));
        break;
      }
      case 'min': {
        v = Infinity;
        for (let j = j0; j < w.n; j++) v = Math.min(v, w.valueOf(j));
        break;
      }
      default:
        return NaN;
    }
    if (Number.isNaN(acc)) acc = v;
    else if (stat === 'max') acc = Math.max(acc, v);
    else if (stat === 'min') acc = Math.min(acc, v);
    else acc += v;
  }
  return acc;
}

function histogramStat(wins: readonly SeriesWindow[], stat: Stat, now: number, windowMs: number): number {
  const q = QUANTILES[stat];
  if (q !== undefined || stat === 'max' || stat === 'min') {
    const bounds = wins[0].bounds;
    const counts = bucketScratch(bounds.length);
    let seen = false;
    for (const w of wins) {
      if (w.bounds.length !== bounds.length) continue; // another layout cannot be summed bucket by bucket
      const j = w.firstIn(now, windowMs);
      if (j >= w.n) continue;
      seen = true;
      w.addBucketsSince(j, counts);
    }
    if (!seen) return NaN;
    if (q !== undefined) return histogramQuantile(q, bounds, counts);
    return stat === 'max' ? histogramMax(bounds, counts) : histogramMin(bounds, counts);
  }
  switch (stat) {
    case 'count':
    case 'increase':
    case 'rate':
      return counterStat(wins, stat, now, windowMs);
    case 'mean': {
      let sum = 0,
        count = 0;
      for (const w of wins) {
        const j = w.firstIn(now, windowMs);
        if (j >= w.n) continue;
        sum += w.totalSum - w.sumBeforeOf(j);
        count += increaseOf(w, j);
      }
      return count > 0 ? sum / count : NaN;
    }
    case 'last': {
      let sum = 0,
        count = 0;
      for (const w of wins) {
        if (w.n === 0 || w.lastAt <= now - windowMs) continue;
        const j = w.n - 1;
        sum += w.totalSum - w.sumBeforeOf(j);
        count += w.deltaOf(j);
      }
      return count > 0 ? sum / count : NaN;
    }
    default:
      return NaN;
  }
}

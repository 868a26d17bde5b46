/**
 * The latency figures of a deep probe's summary from one kernel log2 histogram (io per device request, pg per
 * query kind). The quantiles are `histogramQuantile` (src/quantile.ts), the function the rules use, so a bundle's
 * p99 and a rule's p99 of the same histogram are the same number. Pure.
 */
import { histogramQuantile } from '../../quantile.ts';
import { histBounds, type RawHist } from '../decode/hist.ts';

/** Count, total time and quantiles of one histogram, in seconds. */
export interface LatencySummary {
  readonly count: number;
  readonly seconds: number;
  /** 0 when the histogram is empty (a summary is JSON, where NaN would turn into null). */
  readonly p50Seconds: number;
  readonly p99Seconds: number;
}

/** Summarises `h`, whose unit is `unitNs` nanoseconds (the deep probes record nanoseconds). */
export function latencySummary(h: RawHist, unitNs = 1): LatencySummary {
  const bounds = histBounds(unitNs);
  const count = h.counts.reduce((a, b) => a + b, 0);
  const q = (level: number): number => (count > 0 ? histogramQuantile(level, bounds, h.counts) : 0);
  return { count, seconds: (h.sum * unitNs) / 1e9, p50Seconds: q(0.5), p99Seconds: q(0.99) };
}

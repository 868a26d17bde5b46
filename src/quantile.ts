/**
 * Quantiles, one implementation per statistic, so the same data gives the same number wherever it is read: a
 * rule's p99, a deep probe's summary in a bundle and the Prometheus `histogram_quantile()` of the exported series.
 * Pure, no imports.
 *
 * Two different statistics, hence two functions:
 * - `histogramQuantile`: an estimate from bucket counts (the kernel keeps log2 histograms, not the observations).
 * - `sampleQuantile`: the exact order statistic of a list of values one has in hand (per-tick values of a series,
 *   a probe's individual connect times, a benchmark's timings).
 */

/**
 * Quantile q (0..1) of a histogram, as Prometheus' `histogram_quantile()` computes it: `bounds[i]` is the upper
 * bound of bucket i (the lower bound of bucket 0 is 0; the last may be Infinity) and `counts[i]` its count (not
 * cumulative). The rank q × total falls in one bucket; the result is interpolated linearly inside it, assuming
 * its observations are spread evenly. A rank in the +Inf bucket yields the last finite bound (nothing better is
 * known). NaN when the histogram is empty.
 */
export function histogramQuantile(q: number, bounds: readonly number[], counts: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < bounds.length; i++) total += counts[i];
  if (!(total > 0)) return NaN;
  const rank = q * total;
  let cum = 0;
  for (let i = 0; i < bounds.length; i++) {
    const c = counts[i];
    if (c > 0 && cum + c >= rank) {
      const lower = i === 0 ? 0 : bounds[i - 1];
      const upper = bounds[i];
      if (upper === Infinity) return lower;
      return lower + (upper - lower) * ((rank - cum) / c);
    }
    cum += c;
  }
  // Only reached through rounding of q × total at q ≈ 1: the top of the highest finite bucket.
  return bounds.length > 1 && bounds[bounds.length - 1] === Infinity
    ? bounds[bounds.length - 2]
    : bounds[bounds.length - 1];
}

/**
 * Quantile q (0..1) of a list of values by nearest rank: the smallest value with at least q × n values at or below
 * it, so the answer is always a value that was seen (no interpolation between neighbours). NaN for an empty list.
 * `values` need not be sorted and is not modified.
 */
export function sampleQuantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

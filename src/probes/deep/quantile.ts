/** Quantiles of log2 histograms for probe summaries (the upper bound of the bucket holding the quantile). */

/** The quantile `q` (0..1) of bucket `counts` with upper `bounds` (last may be Infinity: then its lower bound). */
export function histQuantile(counts: readonly number[], bounds: readonly number[], q: number): number {
  const total = counts.reduce((a, b) => a + b, 0);
  if (!total) return 0;
  let cum = 0;
  for (let i = 0; i < counts.length; i++) {
    cum += counts[i];
    if (cum >= q * total) return Number.isFinite(bounds[i]) ? bounds[i] : bounds[i - 1];
  }
  return bounds[bounds.length - 2];
}

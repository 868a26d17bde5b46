/**
 * Before and after: the sampler history of the target in the window before the trip against the capture's own
 * window, per signal, as per-tick p50 and p99. A signal "moved" when either quantile changed by half or more of
 * the larger value (×2 up or ÷2 down). Pure.
 *
 * Per-tick quantiles are not histogram quantiles: each tick gives one number per key (e.g. that second's mean
 * run-queue delay), and "p99" is the nearest-rank 99th percentile of those numbers (`sampleQuantile`): a value
 * that was actually seen, exceeded in at most 1 second out of 100. The p99 of the delays themselves is the
 * rules' `histogramQuantile` over the summed buckets; the two answer different questions.
 */
import type { HistoryPoint } from '../sampler/history.ts';
import { sampleQuantile } from '../quantile.ts';
import { tickSeries } from './window.ts';

/** Keys always reported (when present) even if they did not move: the CPU story of the incident. */
const CORE_KEYS = ['cpu_usage_seconds', 'cpu_throttled_ratio', 'runq_delay_seconds_mean'];
/** A quantile moved when |during - before| ≥ this share of max(|before|, |during|). */
export const MOVED_SHARE = 0.5;
const MAX_MOVED = 12;

/** One signal's shift. */
export interface Shift {
  readonly key: string;
  readonly stat: 'p50' | 'p99';
  readonly before: number;
  readonly during: number;
}

export interface Comparison {
  /** `<key>.<stat>` → before/during, for findings.shifts. */
  readonly shifts: Record<string, { before: number; during: number }>;
  /** The moved ones, largest relative change first. */
  readonly moved: readonly Shift[];
}

function movedBy(s: Shift): number {
  const m = Math.max(Math.abs(s.before), Math.abs(s.during));
  return m === 0 ? 0 : Math.abs(s.during - s.before) / m;
}

/** Compares the two windows; keys present in only one of them are left out. */
export function compareWindows(before: readonly HistoryPoint[], during: readonly HistoryPoint[]): Comparison {
  const b = tickSeries(before);
  const d = tickSeries(during);
  const all: Shift[] = [];
  for (const [key, dv] of d) {
    const bv = b.get(key);
    if (!bv || bv.length === 0 || dv.length === 0) continue;
    for (const [stat, q] of [
      ['p50', 0.5],
      ['p99', 0.99],
    ] as const)
      all.push({ key, stat, before: sampleQuantile(bv, q), during: sampleQuantile(dv, q) });
  }
  const moved = all
    .filter((s) => movedBy(s) >= MOVED_SHARE)
    .sort((x, y) => movedBy(y) - movedBy(x))
    .slice(0, MAX_MOVED);
  const shifts: Record<string, { before: number; during: number }> = {};
  for (const s of all)
    if (CORE_KEYS.includes(s.key) || moved.includes(s))
      shifts[`${s.key}.${s.stat}`] = { before: s.before, during: s.during };
  return { shifts, moved };
}

/** A shift in plain words: "runq_delay_seconds_mean p99 0.0008 → 0.024 (×30)". */
export function shiftText(s: Shift): string {
  const f = (x: number): string => String(+x.toPrecision(3));
  const factor = s.before !== 0 ? ` (×${+(s.during / s.before).toPrecision(2)})` : '';
  return `${s.key} ${s.stat} ${f(s.before)} → ${f(s.during)}${factor}`;
}

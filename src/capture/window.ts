/**
 * Statistics of a stretch of the sampler's per-cgroup history (`HistoryPoint`s of 1 s ticks): the CPU numbers
 * the diagnosis weighs (throttled share of CFS periods, usage vs quota, run-queue wait) and the per-tick series
 * the before/after comparison takes quantiles of. Pure.
 */
import type { HistoryPoint } from '../sampler/history.ts';

/** CPU evidence of a window. Undefined fields had no data in the window. */
export interface WindowStats {
  readonly points: number;
  /** Seconds the window covers (points × tick). */
  readonly seconds: number;
  readonly cpuPeriods?: number;
  readonly throttledPeriods?: number;
  /** throttled / elapsed CFS periods, 0..1. */
  readonly throttledRatio?: number;
  /** Mean CPU use in cores. */
  readonly usageCores?: number;
  /** CPU limit in cores (last value); undefined = unlimited or unknown. */
  readonly quotaCores?: number;
  /** Total run-queue delay of the cgroup's tasks in the window, seconds. */
  readonly runqSeconds?: number;
  /** Share of the runnable time spent waiting: runq / (runq + usage), 0..1. */
  readonly waitShare?: number;
  /** PSI some CPU pressure as a share of the window, 0..1. */
  readonly pressureShare?: number;
}

function sum(points: readonly HistoryPoint[], key: string): number | undefined {
  let total: number | undefined;
  for (const p of points) {
    const v = p.values[key];
    if (v !== undefined) total = (total ?? 0) + v;
  }
  return total;
}

/** Tick length in seconds: the median gap between points (1 s when fewer than two points). */
export function tickSeconds(points: readonly HistoryPoint[]): number {
  if (points.length < 2) return 1;
  const gaps = points
    .slice(1)
    .map((p, i) => p.at - points[i].at)
    .sort((a, b) => a - b);
  return Math.max(0.001, gaps[Math.floor(gaps.length / 2)] / 1000);
}

/** CPU evidence of the points (oldest first). */
export function windowStats(points: readonly HistoryPoint[]): WindowStats {
  const seconds = points.length * tickSeconds(points);
  const cpuPeriods = sum(points, 'cpu_periods');
  const throttledPeriods = sum(points, 'cpu_throttled_periods');
  const usage = sum(points, 'cpu_usage_seconds');
  const runqSeconds = sum(points, 'runq_delay_seconds_sum');
  const pressure = sum(points, 'cpu_pressure_some_seconds');
  let quotaCores: number | undefined;
  for (const p of points) if (p.values.cpu_quota_cores !== undefined) quotaCores = p.values.cpu_quota_cores;
  const usageCores = usage !== undefined && seconds > 0 ? usage / seconds : undefined;
  return {
    points: points.length,
    seconds,
    cpuPeriods,
    throttledPeriods,
    throttledRatio: cpuPeriods && throttledPeriods !== undefined ? throttledPeriods / cpuPeriods : undefined,
    usageCores,
    quotaCores,
    runqSeconds,
    waitShare:
      runqSeconds !== undefined && usage !== undefined && runqSeconds + usage > 0
        ? runqSeconds / (runqSeconds + usage)
        : undefined,
    pressureShare: pressure !== undefined && seconds > 0 ? Math.min(1, pressure / seconds) : undefined,
  };
}

/** Per-tick series of every key, plus derived ones: mean run-queue delay and throttled ratio per tick. */
export function tickSeries(points: readonly HistoryPoint[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const push = (k: string, v: number): void => {
    let a = out.get(k);
    if (!a) out.set(k, (a = []));
    a.push(v);
  };
  for (const p of points) {
    for (const [k, v] of Object.entries(p.values)) push(k, v);
    const c = p.values.runq_delay_seconds_count;
    if (c) push('runq_delay_seconds_mean', (p.values.runq_delay_seconds_sum ?? 0) / c);
    const per = p.values.cpu_periods;
    if (per) push('cpu_throttled_ratio', (p.values.cpu_throttled_periods ?? 0) / per);
  }
  return out;
}

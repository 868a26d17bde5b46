/**
 * Units of rule thresholds and durations, checked against the signal catalog. A threshold is written
 * in the unit its signal and statistic produce (`10ms` for a latency quantile, `20/s` for a rate, `20%`
 * for a ratio, a plain number for counts) and converted to the signal's base unit. Anything else is a
 * RULE_ERR_UNIT whose hint spells the fix, because a bare `10` on a seconds signal would mean ten
 * seconds and silently never fire.
 */
import { TriplineError } from '../../errors.ts';
import { SIGNALS, signalSpec, type SignalKind, type SignalSpec } from '../../signals.ts';
import type { Stat } from '../types.ts';
import { didYouMean } from '../parse/suggest.ts';

/** Pattern of a duration string (`250us`, `5ms`, `1.5s`, `2m`, `4h`, `7d`), shared with the schema. */
export const DURATION_PATTERN = '^\\d+(\\.\\d+)?(us|ms|s|m|h|d)$';

const DURATION_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const RATE_PER_S: Record<string, number> = { '/s': 1, '/m': 1 / 60, '/h': 1 / 3600 };

/** Milliseconds of a duration string; throws RULE_ERR_UNIT when it is not one. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(us|ms|s|m|h|d)$/.exec(text);
  if (!m)
    throw new TriplineError('RULE_ERR_UNIT', `${JSON.stringify(text)} is not a duration`, {
      hint: 'write a number and a unit: 250us, 5ms, 1.5s, 2m, 4h, 7d',
    });
  return Number(m[1]) * DURATION_MS[m[2]];
}

/** Every statistic, in the order the docs list them. */
export const STATS: readonly Stat[] = [
  'p50',
  'p90',
  'p95',
  'p99',
  'p999',
  'mean',
  'max',
  'min',
  'last',
  'rate',
  'increase',
  'count',
];

/**
 * Which statistics each signal kind supports. Quantiles, mean and count (observations) come from
 * histogram buckets; rate and increase from a counter or a histogram's observation count; a gauge has
 * only its samples' last, max and min. The evaluator computes exactly these.
 */
export const STATS_BY_KIND: Readonly<Record<SignalKind, readonly Stat[]>> = {
  histogram: ['p50', 'p90', 'p95', 'p99', 'p999', 'mean', 'max', 'rate', 'increase', 'count'],
  counter: ['rate', 'increase'],
  gauge: ['last', 'max', 'min'],
};

/** The catalog entry of `name`; throws RULE_ERR_SIGNAL (with the closest name) when unknown. */
export function checkSignal(name: string): SignalSpec {
  const spec = signalSpec(name);
  if (spec) return spec;
  throw new TriplineError('RULE_ERR_SIGNAL', `unknown signal ${JSON.stringify(name)}`, {
    hint: didYouMean(name, Object.keys(SIGNALS), 'signals are listed in docs/rules.md (src/signals.ts)'),
  });
}

/** Throws RULE_ERR_SIGNAL when `stat` makes no sense for the signal's kind. */
export function checkStat(signal: SignalSpec, stat: Stat): void {
  const ok = STATS_BY_KIND[signal.kind];
  if (ok.includes(stat)) return;
  const need =
    stat.startsWith('p') || stat === 'mean' || stat === 'count'
      ? 'a histogram'
      : stat === 'rate' || stat === 'increase'
        ? 'a counter or a histogram'
        : 'a gauge';
  throw new TriplineError('RULE_ERR_SIGNAL', `stat ${stat} needs ${need}, but ${signal.name} is a ${signal.kind}`, {
    hint: `use one of: ${ok.join(', ')}`,
  });
}

/** How a threshold must be written for a (signal, stat) pair. */
export type ThresholdUnit = 'duration' | 'rate' | 'percent' | 'number' | 'fraction';

/** The unit a threshold needs: `ratio` is true for a `ratio: {of, to}` condition. */
export function thresholdUnit(signal: SignalSpec, stat: Stat, ratio = false): ThresholdUnit {
  if (ratio) return 'percent';
  // A rate of a seconds counter is seconds per second: a share of one CPU, written 0.5 or 50%.
  if (stat === 'rate') return signal.unit === 'seconds' && signal.kind === 'counter' ? 'fraction' : 'rate';
  if (stat === 'count') return 'number';
  if (stat === 'increase') return signal.unit === 'seconds' && signal.kind === 'counter' ? 'duration' : 'number';
  return signal.unit === 'seconds' ? 'duration' : 'number';
}

const UNIT_WORDS: Record<ThresholdUnit, string> = {
  duration: 'in seconds',
  rate: 'per second',
  percent: 'a ratio',
  number: 'a count',
  fraction: 'a share of one CPU',
};

/**
 * Converts a threshold as written to the signal's base unit (seconds, per second, 0..1, count).
 * `what` names the quantity in messages, e.g. `syscall_latency_seconds p99`.
 */
export function parseThreshold(raw: string | number, unit: ThresholdUnit, what: string): number {
  const text = String(raw).trim();
  const m = /^(\d+(?:\.\d+)?)\s*(us|ms|s|m|h|d|%|\/s|\/m|\/h)?$/.exec(text);
  if (!m)
    throw new TriplineError('RULE_ERR_UNIT', `threshold ${JSON.stringify(text)} is not a number with a unit`, {
      hint: fixFor(unit, 1),
    });
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  const wrong = (msg: string): TriplineError =>
    new TriplineError('RULE_ERR_UNIT', `${what} is ${UNIT_WORDS[unit]}: ${msg}`, { hint: fixFor(unit, n) });
  switch (unit) {
    case 'duration':
      if (suffix in DURATION_MS) return (n * DURATION_MS[suffix]) / 1000;
      throw wrong(suffix ? `${text} is not a duration` : `threshold ${text} has no unit`);
    case 'rate':
      if (suffix in RATE_PER_S) return n * RATE_PER_S[suffix];
      throw wrong(suffix ? `${text} is not a rate` : `threshold ${text} has no unit`);
    case 'percent':
      if (suffix === '%') return n / 100;
      throw wrong(suffix ? `${text} is not a percentage` : `threshold ${text} has no unit`);
    case 'fraction':
      if (suffix === '%') return n / 100;
      if (suffix === '') return n;
      throw wrong(`${text} is not a fraction`);
    case 'number':
      if (suffix === '') return n;
      throw wrong(`${text} has a unit`);
  }
}

/** The fix for a threshold of `unit`, built from the number the user wrote. */
function fixFor(unit: ThresholdUnit, n: number): string {
  switch (unit) {
    // A bare number below 1 on a seconds signal was most likely meant as seconds.
    case 'duration':
      return `write ${n < 1 ? `${round(n * 1000)}ms` : `${n}ms`} (units: us, ms, s, m)`;
    case 'rate':
      return `write ${n}/s (or ${n}/m per minute)`;
    case 'percent':
      return `write ${n <= 1 ? round(n * 100) : n}%`;
    case 'fraction':
      return `write a share of one CPU: ${n} or ${round(n * 100)}%`;
    case 'number':
      return `write ${n} without a unit`;
  }
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/** Parses any quantity as written in a rule or test (`5ms`, `20/s`, `20%`, `3`) to base units. */
export function parseQuantity(raw: string | number): number {
  if (typeof raw === 'number') return raw;
  const m = /^(\d+(?:\.\d+)?)\s*(us|ms|s|m|h|d|%|\/s|\/m|\/h)?$/.exec(raw.trim());
  if (!m)
    throw new TriplineError('RULE_ERR_UNIT', `${JSON.stringify(raw)} is not a number with a unit`, {
      hint: 'write e.g. 5ms, 20/s, 20% or 3',
    });
  const n = Number(m[1]);
  const s = m[2] ?? '';
  if (s in DURATION_MS) return (n * DURATION_MS[s]) / 1000;
  if (s in RATE_PER_S) return n * RATE_PER_S[s];
  return s === '%' ? n / 100 : n;
}

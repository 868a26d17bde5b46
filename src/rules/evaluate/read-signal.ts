/**
 * The answer to a `signal.read` query (src/signal-read.ts): a rule's conditions computed, by the evaluator's own
 * statistics over its own windows, for the series a label selection picks (e.g. one workload's pods), so the scale
 * action's verification compares the same number the rule tripped on. Pure over the window store; bounded by the
 * rule's leaves and the series of their signals.
 */
import type { Labels } from '../../samples.ts';
import type { SignalQuery, SignalReading } from '../../signal-read.ts';
import type { Rule } from '../types.ts';
import { compileMatchers } from '../compile/matchers.ts';
import { compileTree } from './conditions.ts';
import { leavesOf } from './groups.ts';
import { ratio, windowStat } from './stats.ts';
import type { SeriesWindow, WindowStore } from './window.ts';

/** Reads `rule` for the series of the first `query.match` alternative that selects any, at `now`. */
export function readSignal(rule: Rule | undefined, store: WindowStore, query: SignalQuery, now: number): SignalReading {
  const none: SignalReading = {
    found: rule !== undefined,
    matched: -1,
    series: 0,
    at: now,
    leaves: [],
    breaching: null,
  };
  if (!rule) return none;
  const leaves = leavesOf(rule.when);
  const preds = leaves.map((c) => compileMatchers(rule.match, c.match));
  for (const [i, alt] of query.match.entries()) {
    const entries = Object.entries(alt);
    const picked = (l: Labels): boolean => entries.every(([k, values]) => values.includes(l[k] ?? ''));
    let series = 0;
    const sets = leaves.map((c, j) => {
      const take = (signal: string): SeriesWindow[] =>
        store.series(signal).filter((w) => preds[j](w.labels) && picked(w.labels));
      const num = take(c.signal);
      const den = c.ratioTo ? take(c.ratioTo) : [];
      series += num.length + den.length;
      return [num, den] as const;
    });
    if (series === 0) continue;
    const values = leaves.map((c, j) =>
      c.ratioTo ? ratio(sets[j][0], sets[j][1], now, c.windowMs) : windowStat(sets[j][0], c.stat, now, c.windowMs),
    );
    const data = values.some((v) => Number.isFinite(v));
    return {
      found: true,
      matched: i,
      series,
      at: now,
      leaves: leaves.slice(0, 16).map((c, j) => ({
        signal: c.ratioTo ? `${c.signal}/${c.ratioTo}` : c.signal,
        stat: c.ratioTo ? 'ratio' : c.stat,
        windowMs: c.windowMs,
        value: Number.isFinite(values[j]) ? values[j] : null,
        op: c.op,
        thresholdText: c.thresholdText.slice(0, 64),
      })),
      // Resolve mode: "still breaching" means what keeps an incident firing (hysteresis included).
      breaching: data ? compileTree(rule.when)(values, true) : null,
    };
  }
  return none;
}

/**
 * Condition trees: a leaf's value over its window, and the tree (`all`/`any`) compiled once into a
 * predicate over the leaf values. `resolve` mode uses each leaf's resolve threshold (hysteresis):
 * a firing series stays firing while the tree holds in resolve mode.
 */
import type { Condition, ConditionTree, Stat } from '../types.ts';
import type { SeriesWindow } from './window.ts';
import type { Group } from './groups.ts';
import { ratio, windowStat } from './stats.ts';

const statKeys = new Map<string, number>();
/** A small integer naming (stat, window): the key under which a series remembers a statistic for the tick. */
export function statKey(stat: string, windowMs: number): number {
  const k = `${stat}|${windowMs}`;
  let id = statKeys.get(k);
  if (id === undefined) {
    id = statKeys.size;
    statKeys.set(k, id);
  }
  return id;
}

/** A one-series group, reused so the per-tick path allocates nothing (windowStat keeps no reference). */
const one: SeriesWindow[] = [];

/** `stat` of one series at `now`, computed once per tick however many rules read it. */
function seriesStat(w: SeriesWindow, stat: Stat, windowMs: number, key: number, now: number): number {
  const slot = w.recall(now, key);
  if (slot >= 0) return w.recalled(slot);
  one[0] = w;
  const v = windowStat(one, stat, now, windowMs);
  w.remember(now, key, v);
  return v;
}

/** Value of leaf `i` of `group` at `now` (NaN without data). `key`: statKey of the leaf (its increase for ratios). */
export function leafValue(c: Condition, group: Group, i: number, now: number, key = -1): number {
  const pair = group.series[i];
  const num = pair[0],
    den = pair[1];
  if (c.ratioTo) {
    if (key < 0 || num.length > 1 || den.length !== 1) return ratio(num, den, now, c.windowMs);
    const d = seriesStat(den[0], 'increase', c.windowMs, key, now);
    if (!(d > 0)) return NaN;
    const n = num.length ? seriesStat(num[0], 'increase', c.windowMs, key, now) : NaN;
    return Number.isNaN(n) ? 0 : n / d;
  }
  if (key >= 0 && num.length === 1) return seriesStat(num[0], c.stat, c.windowMs, key, now);
  return windowStat(num, c.stat, now, c.windowMs);
}

/**
 * True when `value` is past the threshold (NaN never is). In resolve mode with a resolve threshold,
 * the series holds until the value is strictly past it (`resolve_below: 5/s` resolves below 5/s,
 * not at 5/s); without one, it holds exactly while the trip condition does.
 */
export function crosses(c: Condition, value: number, resolve: boolean): boolean {
  if (resolve && c.resolveThreshold !== undefined)
    return c.op === 'above' ? value >= c.resolveThreshold : value <= c.resolveThreshold;
  return c.op === 'above' ? value > c.threshold : value < c.threshold;
}

/** A tree compiled to a predicate over the leaf values (leaves numbered in document order). */
export type TreePredicate = (values: ArrayLike<number>, resolve: boolean) => boolean;

/** Compiles a condition tree; leaves are numbered as `leavesOf` numbers them. */
export function compileTree(tree: ConditionTree): TreePredicate {
  let next = 0;
  const build = (t: ConditionTree): TreePredicate => {
    if ('all' in t) {
      const parts = t.all.map(build);
      return (v, r) => {
        for (const p of parts) if (!p(v, r)) return false;
        return true;
      };
    }
    if ('any' in t) {
      const parts = t.any.map(build);
      return (v, r) => {
        for (const p of parts) if (p(v, r)) return true;
        return false;
      };
    }
    const i = next++;
    const c = t;
    return (v, r) => crosses(c, v[i], r);
  };
  return build(tree);
}

/** Unit of a leaf's value, for the incident: rates are per second, ratios are ratios, histogram counts are counts. */
export function unitOf(c: Condition, signalUnit: string | undefined, kind: string | undefined): string {
  if (c.ratioTo) return 'ratio';
  const countLike = kind === 'histogram' && (c.stat === 'count' || c.stat === 'increase' || c.stat === 'rate');
  const base = countLike ? 'count' : (signalUnit ?? 'count');
  return c.stat === 'rate' || (kind === 'counter' && ['mean', 'last', 'max', 'min'].includes(c.stat))
    ? `${base}/s`
    : base;
}

/**
 * Condition trees: a leaf's value over its window, and the tree (`all`/`any`) compiled once into a
 * predicate over the leaf values. `resolve` mode uses each leaf's resolve threshold (hysteresis):
 * a firing series stays firing while the tree holds in resolve mode.
 */
import type { Condition, ConditionTree } from './types.ts';
import type { Group } from './groups.ts';
import { ratio, windowStat } from './stats.ts';

/** Value of leaf `i` of `group` at `now` (NaN without data). */
export function leafValue(c: Condition, group: Group, i: number, now: number): number {
  const [num, den] = group.series[i];
  if (c.ratioTo) return ratio(num, den, now, c.windowMs);
  return windowStat(num, c.stat, now, c.windowMs);
}

/**
 * True when `value` is past the threshold (NaN never is). In resolve mode with a resolve threshold,
 * the series holds until the value is strictly past it (`resolve_below: 5/s` resolves below 5/s,
 * not at 5/s); without one, it holds exactly while the trip condition does.
 */
export function crosses(c: Condition, value: number, resolve: boolean): boolean {
  if (resolve && c.resolveThreshold !== undefined) return c.op === 'above' ? value >= c.resolveThreshold : value <= c.resolveThreshold;
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
      return (v, r) => { for (const p of parts) if (!p(v, r)) return false; return true; };
    }
    if ('any' in t) {
      const parts = t.any.map(build);
      return (v, r) => { for (const p of parts) if (p(v, r)) return true; return false; };
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
  return c.stat === 'rate' || (kind === 'counter' && ['mean', 'last', 'max', 'min'].includes(c.stat)) ? `${base}/s` : base;
}

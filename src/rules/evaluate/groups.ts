/**
 * Series selection and grouping for one rule: which series each condition reads (signal + rule
 * matchers + condition matchers), split into groups by the rule's `group_by` labels. Rebuilt only
 * when a series of one of the rule's signals appears or goes, so a steady tick costs no matching.
 */
import type { Labels } from '../../samples.ts';
import type { Condition, ConditionTree, Rule } from '../types.ts';
import { incidentKey, keyLabels } from '../../incident.ts';
import { compileMatchers, type LabelPredicate } from '../compile/matchers.ts';
import type { SeriesWindow, WindowStore } from './window.ts';

/** One group of a rule: the `group_by` label values and, per condition, the series it reads. */
export interface Group {
  /** incidentKey(rule, labels): the stable key of the group's incidents. */
  readonly key: string;
  /** The group_by labels (missing labels read as ""); the key adds `host` unless the series is pod-level (keyLabels). */
  readonly labels: Labels;
  /** Per leaf condition: [numerator-or-signal series, denominator series (ratios only)]. */
  readonly series: [SeriesWindow[], SeriesWindow[]][];
}

/**
 * The group a series of a rule falls in: its `group_by` labels (a missing label reads as "") and the incident key
 * they make, with `host` added unless the series is pod-level (keyLabels; the labels stay as the rule names them, so
 * rule tests and matchers see no `host`). What the evaluator keys incidents by, and what tools (the demo) compute to
 * follow one series.
 */
export function groupOf(
  rule: Pick<Rule, 'name' | 'groupBy'>,
  labels: Labels,
  host: string,
): { readonly key: string; readonly labels: Record<string, string> } {
  const gl: Record<string, string> = {};
  for (const l of rule.groupBy) gl[l] = labels[l] ?? '';
  return { key: incidentKey(rule.name, keyLabels(gl, labels, host)), labels: gl };
}

/** The leaf conditions of a tree, in document order (the first one is the incident's value). */
export function leavesOf(tree: ConditionTree): Condition[] {
  if ('all' in tree) return tree.all.flatMap(leavesOf);
  if ('any' in tree) return tree.any.flatMap(leavesOf);
  return [tree];
}

/** The rule's selection of series into groups, cached against the store's signal versions. */
export class RuleSelection {
  readonly rule: Rule;
  readonly leaves: Condition[];
  private readonly preds: LabelPredicate[];
  private readonly signals: string[];
  private seen = '';
  private seenGeneration = -1;
  private seenStore: WindowStore | undefined;
  private cached = new Map<string, Group>();
  private list: Group[] = [];

  /** This engine's host, on the keys of series that are not pod-level. */
  private readonly host: string;

  constructor(rule: Rule, host: string) {
    this.rule = rule;
    this.host = host;
    this.leaves = leavesOf(rule.when);
    this.preds = this.leaves.map((c) => compileMatchers(rule.match, c.match));
    this.signals = [...new Set(this.leaves.flatMap((c) => (c.ratioTo ? [c.signal, c.ratioTo] : [c.signal])))];
  }

  /** The groups as of the store's current series set. */
  groups(store: WindowStore): Map<string, Group> {
    if (store.generation === this.seenGeneration && store === this.seenStore) return this.cached;
    this.seenGeneration = store.generation;
    this.seenStore = store;
    let sig = '';
    for (const s of this.signals) sig += `${store.version(s)},`;
    if (sig !== this.seen) {
      this.cached = this.build(store);
      this.list = [...this.cached.values()];
      this.seen = sig;
    }
    return this.cached;
  }

  /** The same groups as an array (iterating an array is cheaper than a Map on the hot path). */
  groupList(store: WindowStore): readonly Group[] {
    this.groups(store);
    return this.list;
  }

  private build(store: WindowStore): Map<string, Group> {
    const out = new Map<string, Group>();
    const groupFor = (labels: Labels): Group => {
      const { key, labels: gl } = groupOf(this.rule, labels, this.host);
      let g = out.get(key);
      if (!g) {
        g = {
          key,
          labels: Object.freeze(gl),
          series: this.leaves.map(() => [[], []] as [SeriesWindow[], SeriesWindow[]]),
        };
        out.set(key, g);
      }
      return g;
    };
    this.leaves.forEach((c, i) => {
      const pred = this.preds[i];
      for (const w of store.series(c.signal)) if (pred(w.labels)) groupFor(w.labels).series[i][0].push(w);
      if (c.ratioTo)
        for (const w of store.series(c.ratioTo)) if (pred(w.labels)) groupFor(w.labels).series[i][1].push(w);
    });
    return out;
  }
}

/** Labels every series of the group shares (cgroup, pod_uid, … when the group is one cgroup): the incident's target. */
export function commonLabels(g: Group): Record<string, string> {
  let common: Record<string, string> | undefined;
  for (const [num, den] of g.series) {
    for (const w of num.length ? num : den) {
      if (!common) {
        common = { ...w.labels };
        continue;
      }
      for (const k of Object.keys(common)) if (w.labels[k] !== common[k]) delete common[k];
    }
  }
  return common ?? { ...g.labels };
}

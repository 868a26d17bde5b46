/**
 * Builds the Incident a group emits when it trips: key, id, labels, target (from the labels the
 * group's series share), the first condition's value and threshold, the window's statistics and the
 * rendered annotations. Runs only on trips, so it may allocate freely.
 */
import { createHash } from 'node:crypto';
import type { Incident, IncidentTarget } from '../../incident.ts';
import type { Condition, Rule, Stat } from '../types.ts';
import type { SeriesWindow } from './window.ts';
import { signalSpec } from '../../signals.ts';
import { compileTemplate, type CompiledTemplate } from '../compile/template.ts';
import { commonLabels, type Group } from './groups.ts';
import { crosses, unitOf } from './conditions.ts';
import { windowStat } from './stats.ts';

/** Extra statistics reported beside each condition's own stat, per signal kind. */
const EXTRA_STATS: Record<string, readonly Stat[]> = {
  histogram: ['p50', 'p99', 'mean', 'count', 'rate'],
  counter: ['increase', 'rate'],
  gauge: ['last', 'max'],
};

/** `<first 12 hex of sha256(key)>-<fired at ms>`: unique per trip, stable across restarts. */
export function incidentId(key: string, firedAt: number): string {
  return `${createHash('sha256').update(key).digest('hex').slice(0, 12)}-${firedAt}`;
}

/** The rule's annotation templates, compiled once per rule. */
export function compileAnnotations(rule: Rule): Record<string, CompiledTemplate> {
  const out: Record<string, CompiledTemplate> = {};
  for (const [k, text] of Object.entries(rule.annotations)) out[k] = compileTemplate(text);
  return out;
}

/** Target of the incident from the labels every series of the group shares (ids, and the names known by then). */
export function targetOf(labels: Readonly<Record<string, string>>): IncidentTarget {
  const t: Mutable<IncidentTarget> = {};
  if (labels.cgroup_id) t.cgroupId = labels.cgroup_id;
  if (labels.cgroup) t.cgroupPath = labels.cgroup;
  if (labels.container) t.container = labels.container;
  if (labels.container_id) t.containerId = labels.container_id;
  if (labels.workload) t.workload = labels.workload;
  if (labels.pod_uid) {
    const pod: Mutable<NonNullable<IncidentTarget['pod']>> = { uid: labels.pod_uid };
    if (labels.qos) pod.qos = labels.qos;
    if (labels.pod) pod.name = labels.pod;
    if (labels.namespace) pod.namespace = labels.namespace;
    t.pod = pod;
  }
  return t;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A firing incident's target with the names the group's series carry now: names that arrived after the trip (the pod
 * cache synced later). Ids stay the trip's; names only fill in or change.
 */
export function refreshTarget(firing: IncidentTarget, labels: Readonly<Record<string, string>>): IncidentTarget {
  const now = targetOf(labels);
  if (now.cgroupId !== firing.cgroupId) return firing; // another series set: keep what the trip saw
  const t: Mutable<IncidentTarget> = { ...firing };
  if (now.container) t.container = now.container;
  if (now.workload) t.workload = now.workload;
  if (firing.pod && now.pod?.uid === firing.pod.uid) t.pod = { ...firing.pod, ...now.pod };
  return t;
}

/**
 * Names that reached firing incidents' series after their trip (the pod cache synced later) go onto the incidents a
 * rule holds, keys and ids unchanged (firing(), the state file and the resolution show them). Run when a rule's groups
 * were rebuilt (series or their labels changed); true when an incident changed.
 */
export function refreshNames(firing: Map<string, Incident>, groups: ReadonlyMap<string, Group>): boolean {
  let changed = false;
  for (const [key, inc] of firing) {
    const g = groups.get(key);
    if (!g || g.series.length === 0) continue;
    const target = refreshTarget(inc.target, commonLabels(g));
    if (JSON.stringify(target) === JSON.stringify(inc.target)) continue;
    firing.set(key, Object.freeze({ ...inc, target: Object.freeze(target) }));
    changed = true;
  }
  return changed;
}

/** The labels of a group's incidents: the rule's labels, the group_by labels, and `rule`. */
export function incidentLabels(rule: Rule, group: Group): Readonly<Record<string, string>> {
  return Object.freeze({ ...rule.labels, ...group.labels, rule: rule.name });
}

/** Inputs of one trip. */
export interface TripInput {
  readonly rule: Rule;
  readonly templates: Record<string, CompiledTemplate>;
  readonly group: Group;
  readonly values: ArrayLike<number>;
  readonly now: number;
  readonly pendingSince: number;
  readonly host: string;
}

/** The firing incident of a trip. */
export function buildIncident(t: TripInput, leaves: readonly Condition[]): Incident {
  const { rule, group, values, now } = t;
  // The incident's value, threshold and unit are those of the condition that tripped: the first one with data that
  // crosses its threshold (under `any`, the first condition may have no data at all: NaN is never a value).
  const finite = (i: number) => Number.isFinite(values[i]);
  let at = leaves.findIndex((c, i) => finite(i) && crosses(c, values[i], false));
  if (at < 0)
    at = Math.max(
      0,
      leaves.findIndex((_c, i) => finite(i)),
    );
  const stats: Record<string, number> = {};
  leaves.forEach((c, i) => {
    const name = c.ratioTo ? 'ratio' : c.stat;
    // A condition without data (e.g. a ratio over no CFS periods) has no statistic: NaN never leaves the evaluator.
    if (Number.isFinite(values[i])) {
      stats[`c${i}.${name}`] = values[i];
      if (i === at) stats[name] = values[i];
    }
    if (c.ratioTo) return;
    const wins: SeriesWindow[] = group.series[i][0];
    for (const extra of EXTRA_STATS[wins[0]?.kind ?? ''] ?? []) {
      if (extra === c.stat) continue;
      const v = windowStat(wins, extra, now, c.windowMs);
      if (Number.isFinite(v)) {
        stats[`c${i}.${extra}`] = v;
        if (i === at) stats[extra] ??= v;
      }
    }
  });
  const first = leaves[at];
  const spec = signalSpec(first.signal);
  const labels = incidentLabels(rule, group);
  const annotations: Record<string, string> = {};
  const data = {
    rule: rule.name,
    value: values[at],
    threshold: first.threshold,
    labels: { ...commonLabels(group), ...labels },
    stats,
    severity: rule.severity,
  };
  for (const [k, tpl] of Object.entries(t.templates)) annotations[k] = tpl.render(data);
  return Object.freeze({
    id: incidentId(group.key, now),
    key: group.key,
    rule: rule.name,
    status: 'firing',
    severity: rule.severity,
    labels,
    annotations: Object.freeze(annotations),
    target: Object.freeze(targetOf(commonLabels(group))),
    value: values[at],
    threshold: first.threshold,
    unit: unitOf(first, spec?.unit, spec?.kind),
    stats: Object.freeze(stats),
    startsAt: new Date(t.pendingSince).toISOString(),
    firedAt: new Date(now).toISOString(),
    host: t.host,
  });
}

/**
 * The resolution of a firing incident: same key and id, status resolved, the value seen at resolve
 * (the firing value when there is no data any more: the series went, or the rule was changed).
 */
export function resolveIncident(firing: Incident, now: number, value: number): Incident {
  return Object.freeze({
    ...firing,
    status: 'resolved',
    value: Number.isFinite(value) ? value : firing.value,
    resolvedAt: new Date(now).toISOString(),
  });
}

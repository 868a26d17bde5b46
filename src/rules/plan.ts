/**
 * The plan an incident leads to, executing nothing: which deep probes a capture would attach (the
 * rule's `capture.probes`, or the defaults of its signals) for how long, and which actions would run
 * with which parameters (string parameters rendered as templates with the incident's data).
 * `tripline test` checks plans; the capture manager runs the probes of the same plan (`probePlan`) on the same scope
 * (`captureScope`, src/rules/contributors.ts), so what a test shows is what a trip attaches and to whom.
 */
import type { Incident } from '../incident.ts';
import type { ActionSpec, Rule } from './types.ts';
import { signalSpec } from '../signals.ts';
import { FAMILY_SPECS } from '../probes/counters/spec/index.ts';
import { leavesOf } from './evaluate/groups.ts';
import { compileTemplate } from './compile/template.ts';
import { captureScope, type CaptureScope, type ContributionSource } from './contributors.ts';

/** Deep probes attached by default, per counter family (the `source` of a catalog signal): each family's descriptor says. */
export const DEFAULT_PROBES_BY_SOURCE: Readonly<Record<string, readonly string[]>> = Object.freeze(
  Object.fromEntries(Object.values(FAMILY_SPECS).map((f) => [f.name, f.defaultProbes])),
);

/** When no signal of a rule has defaults: on- and off-CPU stacks explain most things. */
export const FALLBACK_PROBES: readonly string[] = Object.freeze(['profile', 'offcpu']);

/** Capture length when the rule says nothing (config capture.duration's default). */
export const DEFAULT_CAPTURE_MS = 10_000;

/** One probe of the plan. */
export interface PlannedProbe {
  readonly name: string;
  readonly durationMs: number;
  readonly options: Readonly<Record<string, unknown>>;
}

/** One action of the plan, with its parameters as the action would receive them (camelCase). */
export interface PlannedAction {
  readonly type: ActionSpec['type'];
  readonly params: Readonly<Record<string, unknown>>;
}

/** What an incident leads to. */
export interface Plan {
  readonly incidentId: string;
  readonly key: string;
  readonly target: Incident['target'];
  /** Whom the probes aim at: the target, the top contributors of a host-wide signal, or the host (contributors.ts). */
  readonly scope: CaptureScope;
  readonly probes: readonly PlannedProbe[];
  readonly actions: readonly PlannedAction[];
}

/** Default probes for the signals a rule reads, in table order, without duplicates; FALLBACK_PROBES when none has any. */
export function defaultProbes(signals: Iterable<string>): string[] {
  const out: string[] = [];
  for (const s of signals) {
    const src = signalSpec(s)?.source;
    for (const p of (src && DEFAULT_PROBES_BY_SOURCE[src]) || []) if (!out.includes(p)) out.push(p);
  }
  return out.length > 0 ? out : [...FALLBACK_PROBES];
}

/** Signal names a rule's conditions read (numerators and denominators of ratios too). */
export function ruleSignals(rule: Pick<Rule, 'when'>): string[] {
  return leavesOf(rule.when).flatMap((c) => (c.ratioTo ? [c.signal, c.ratioTo] : [c.signal]));
}

/** Where a plan's probes come from: the rule's `capture.probes`, or the defaults of its signals. */
export function probesFrom(rule: Pick<Rule, 'capture'>): 'rule' | 'defaults' {
  return rule.capture && rule.capture.probes.length > 0 ? 'rule' : 'defaults';
}

/** The probes a trip of `rule` attaches, each with its time box and options (the probe part of `planFor`). */
export function probePlan(
  rule: Pick<Rule, 'when' | 'capture'>,
  defaultDurationMs = DEFAULT_CAPTURE_MS,
): PlannedProbe[] {
  const cap = rule.capture;
  const names = probesFrom(rule) === 'rule' ? cap!.probes : defaultProbes(ruleSignals(rule));
  const durationMs = cap?.durationMs ?? defaultDurationMs;
  return names.map((name) => {
    const options: Record<string, unknown> = { ...(cap?.options[name] ?? {}) };
    if (name === 'bpftrace' && cap?.bpftrace) options.program = cap.bpftrace;
    return Object.freeze({ name, durationMs, options: Object.freeze(options) });
  });
}

/** Renders every string in `v` (recursively) as a template over the incident. */
function renderDeep(v: unknown, inc: Incident): unknown {
  if (typeof v === 'string') {
    if (!v.includes('{{')) return v;
    return compileTemplate(v).render({
      rule: inc.rule,
      value: inc.value,
      threshold: inc.threshold,
      labels: inc.labels,
      stats: inc.stats,
      severity: inc.severity,
    });
  }
  if (Array.isArray(v)) return v.map((x) => renderDeep(x, inc));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, renderDeep(x, inc)]));
  return v;
}

/**
 * The plan of `incident`, a trip of `rule`; `contributions` ranks cgroups when the incident has no cgroup (the
 * sampler's history, or a rule test's input), else such a plan is host-wide.
 */
export function planFor(
  rule: Rule,
  incident: Incident,
  defaultDurationMs = DEFAULT_CAPTURE_MS,
  contributions?: ContributionSource,
): Plan {
  const probes = probePlan(rule, defaultDurationMs);
  const scope = captureScope(rule, incident, contributions);
  const actions = rule.actions.map((a) => {
    const { type, ...params } = a;
    return Object.freeze({ type, params: Object.freeze(renderDeep(params, incident) as Record<string, unknown>) });
  });
  return Object.freeze({ incidentId: incident.id, key: incident.key, target: incident.target, scope, probes, actions });
}

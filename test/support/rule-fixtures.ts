/** Builders of parsed rules and samples for the rules tests: plain objects shaped like load.ts output. */
import type { Condition, Rule, RuleSet } from '../../src/rules/types.ts';
import type { Labels, Sample, Tick } from '../../src/samples.ts';

/** A condition with defaults (p99 of runq_delay_seconds over 10 s above 5 ms). */
export function cond(c: Partial<Condition> = {}): Condition {
  return {
    signal: 'runq_delay_seconds',
    stat: 'p99',
    windowMs: 10_000,
    op: 'above',
    threshold: 0.005,
    thresholdText: '5ms',
    ...c,
  };
}

/** A rule with defaults: no for, no cooldown, 100 trips per hour, no annotations. */
export function rule(r: Partial<Rule> = {}): Rule {
  return {
    name: 'test-rule',
    source: { file: 'test.yaml', line: 1, column: 1 },
    severity: 'warning',
    labels: {},
    groupBy: ['cgroup'],
    match: {},
    when: cond(),
    forMs: 0,
    keepFiringForMs: 0,
    cooldownMs: 0,
    maxTripsPerHour: 100,
    mute: [],
    annotations: {},
    actions: [],
    ...r,
  };
}

/** A rule set of rules (no silences, no inhibitions unless given). */
export function ruleSet(rules: Rule[], extra: Partial<RuleSet> = {}): RuleSet {
  return { rules, silences: [], inhibitions: [], ...extra };
}

/** A counter sample. */
export function counter(signal: string, labels: Labels, delta: number): Sample {
  return { kind: 'counter', signal, labels, delta, total: 0 };
}

/** A gauge sample. */
export function gauge(signal: string, labels: Labels, value: number): Sample {
  return { kind: 'gauge', signal, labels, value };
}

/** A histogram sample with bounds [1ms, 2ms, 4ms, 8ms, +Inf]; `deltas` per bucket; sum from bucket midpoints. */
export const BOUNDS = [0.001, 0.002, 0.004, 0.008, Infinity];
export function hist(signal: string, labels: Labels, deltas: number[], bounds: number[] = BOUNDS): Sample {
  let sum = 0,
    count = 0;
  deltas.forEach((d, i) => {
    const lo = i === 0 ? 0 : bounds[i - 1];
    const hi = bounds[i] === Infinity ? lo : bounds[i];
    sum += (d * (lo + hi)) / 2;
    count += d;
  });
  return { kind: 'histogram', signal, labels, bounds, deltas, sumDelta: sum, countDelta: count };
}

/** A tick at `at` ms with a 1 s interval. */
export function tick(at: number, samples: Sample[], intervalMs = 1000): Tick {
  return { at, intervalMs, samples };
}

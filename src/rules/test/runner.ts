/**
 * Rule unit tests (`kind: RuleTest`): feeds the input series tick by tick through the real evaluator on
 * a fake clock, and at each expected time compares the incidents (firing, or resolved on that tick)
 * and the plan each leads to with what the test expects. Every mismatch is reported as
 * `file:line: at 45s: expected … got …`, at the line of the expectation.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Incident } from '../../incident.ts';
import type { Rule, RuleSet } from '../types.ts';
import type { LoadedRuleTest, LoadOptions } from '../load.ts';
import type { RuleTestSpec } from '../parse/schema.ts';
import { loadRules, ruleFilesOf } from '../load.ts';
import { parseDuration, parseThreshold, thresholdUnit, type ThresholdUnit } from '../compile/units.ts';
import { formatSeconds } from '../compile/template.ts';
import { signalSpec } from '../../signals.ts';
import { Evaluator } from '../evaluate/evaluate.ts';
import { leavesOf } from '../evaluate/groups.ts';
import { planFor, type Plan } from '../plan.ts';
import type { Contribution, ContributionSource } from '../contributors.ts';
import { buildTicks } from './input.ts';
import type { Tick } from '../../samples.ts';

/** The fake clock starts at the epoch, so mute crons in tests read as UTC dates of 1970-01-01 (a Thursday). */
export const TEST_EPOCH_MS = 0;
/** Relative tolerance of an expected value (values are often written rounded: `7ms` for 0.00698 s). */
export const VALUE_TOLERANCE = 0.01;

type Expected = RuleTestSpec['expect'][number]['incidents'][number];

/** Outcome of one RuleTest. */
export interface RuleTestResult {
  readonly name: string;
  readonly file: string;
  readonly line: number;
  /** One line per mismatch; empty when the test passed. */
  readonly failures: readonly string[];
}

/** Line of a part of the test (`expect[1].incidents[0]`), from the positions the loader recorded. */
function lineOf(test: LoadedRuleTest, path: string): number {
  return test.positions[`spec.${path}`]?.line ?? test.source.line;
}

const labelsText = (l: Readonly<Record<string, string>>): string =>
  `{${Object.keys(l)
    .sort()
    .map((k) => `${k}=${JSON.stringify(l[k])}`)
    .join(', ')}}`;

function valueUnit(rule: Rule | undefined): ThresholdUnit {
  const c = rule ? leavesOf(rule.when)[0] : undefined;
  const spec = c && signalSpec(c.signal);
  return spec ? thresholdUnit(spec, c.stat, c.ratioTo !== undefined) : 'number';
}

function formatValue(v: number, unit: ThresholdUnit): string {
  const n = (x: number): string => String(Number(x.toPrecision(4)));
  switch (unit) {
    case 'duration':
      return formatSeconds(v);
    case 'rate':
      return `${n(v)}/s`;
    case 'percent':
      return `${n(v * 100)}%`;
    default:
      return n(v);
  }
}

/** The incident labels a test compares: without `rule` and without the rule's own labels unless written. */
function labelMismatch(exp: Expected, inc: Incident, rule: Rule | undefined): boolean {
  for (const [k, v] of Object.entries(exp.labels)) if (inc.labels[k] !== v) return true;
  for (const k of Object.keys(inc.labels)) {
    if (k === 'rule' || (rule && k in rule.labels) || k in exp.labels) continue;
    return true;
  }
  return false;
}

const camel = (k: string): string => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Differences between an expected plan and the planned one (empty when they agree). */
export function planDiff(exp: Expected['plan'], plan: Plan): string[] {
  const out: string[] = [];
  if (!exp) return out;
  if (exp.scope && exp.scope !== plan.scope.kind)
    out.push(`scope ${exp.scope} got ${plan.scope.kind}${plan.scope.kind === 'host' ? ` (${plan.scope.reason})` : ''}`);
  if (exp.contributors) {
    const got = plan.scope.kind === 'contributors' ? plan.scope.contributors.map((c) => c.cgroup) : [];
    if (!isDeepStrictEqual(exp.contributors, got))
      out.push(`contributors [${exp.contributors.join(', ')}] got [${got.join(', ')}]`);
  }
  if (exp.probes) {
    const got = plan.probes.map((p) => p.name);
    if (!isDeepStrictEqual([...exp.probes].sort(), [...got].sort()))
      out.push(`probes [${exp.probes.join(', ')}] got [${got.join(', ')}]`);
  }
  if (exp.actions) {
    const got = plan.actions;
    if (exp.actions.length !== got.length)
      out.push(
        `${exp.actions.length} actions (${exp.actions.map((a) => a.type).join(', ')}) got ${got.length} (${got.map((a) => a.type).join(', ')})`,
      );
    exp.actions.forEach((ea, i) => {
      const ga = got[i];
      if (!ga) return;
      if (ga.type !== ea.type) {
        out.push(`action ${i + 1} of type ${ea.type} got ${ga.type}`);
        return;
      }
      for (const [k, v] of Object.entries(ea)) {
        if (k === 'type') continue;
        const key = camel(k);
        let have: unknown = ga.params[key];
        let want: unknown = v;
        // Durations are written `10m` in YAML and planned as milliseconds (`cooldownMs`).
        if (!(key in ga.params) && `${key}Ms` in ga.params && typeof v === 'string') {
          have = ga.params[`${key}Ms`];
          try {
            want = parseDuration(v);
          } catch {
            /* compared as written */
          }
        }
        if (!isDeepStrictEqual(want, have))
          out.push(
            `${ea.type} ${k}: ${JSON.stringify(v)} got ${have === undefined ? 'nothing' : JSON.stringify(have)}`,
          );
      }
    });
  }
  return out;
}

/** What running rule tests needs: the action catalog rules are loaded with (the callers pass src/actions/registry.ts). */
export type RunOptions = Pick<LoadOptions, 'actions' | 'probes'>;

/** Runs one RuleTest against the rule files it names; returns its failures. */
export function runRuleTest(test: LoadedRuleTest, opts: RunOptions): RuleTestResult {
  const file = test.source.file;
  const failures: string[] = [];
  const result = (): RuleTestResult => ({ name: test.name, file, line: test.source.line, failures });
  const load = loadRules(ruleFilesOf(test), { tests: false, actions: opts.actions, probes: opts.probes });
  if (!load.ruleSet) {
    for (const e of load.errors) failures.push(`${file}:${test.source.line}: rule_files: ${e.message}`);
    return result();
  }
  const ruleSet: RuleSet = load.ruleSet;
  const rules = new Map(ruleSet.rules.map((r) => [r.name, r]));
  const intervalMs = parseDuration(test.spec.interval);
  const expects = test.spec.expect.map((e, i) => ({ e, i, atMs: parseDuration(e.at) })).sort((a, b) => a.atMs - b.atMs);
  const lastAt = expects.length ? expects[expects.length - 1].atMs : 0;
  const ticks = buildTicks(test.spec, intervalMs, TEST_EPOCH_MS, Math.floor(lastAt / intervalMs) + 1);
  const ev = new Evaluator(ruleSet, { host: 'tripline-test' });
  const seen: Tick[] = [];
  const contributions = contributionsOf(seen);
  let next = 0;
  for (const t of ticks) {
    seen.push(t);
    const out = ev.tick(t);
    while (next < expects.length && TEST_EPOCH_MS + expects[next].atMs < t.at + intervalMs) {
      const { e, i } = expects[next++];
      const actual = [...ev.firing(), ...out.filter((x) => x.status === 'resolved')];
      compare(
        e.incidents,
        actual,
        rules,
        (j) => `${file}:${lineOf(test, j === undefined ? `expect[${i}]` : `expect[${i}].incidents[${j}]`)}: at ${e.at}`,
        failures,
        contributions,
      );
    }
    if (next >= expects.length) break;
  }
  return result();
}

/** Per-cgroup totals of a counter over the ticks fed so far, as the sampler's history gives them in the engine. */
function contributionsOf(ticks: readonly Tick[]): ContributionSource {
  return (twin, sinceMs, untilMs) => {
    const by = new Map<string, Contribution>();
    for (const t of ticks) {
      if (t.at < sinceMs || t.at > untilMs) continue;
      for (const s of t.samples) {
        if (s.signal !== twin || s.kind !== 'counter') continue;
        const id = s.labels.cgroup_id ?? '';
        const prev = by.get(id);
        by.set(id, { cgroupId: id, cgroup: s.labels.cgroup ?? '', value: (prev?.value ?? 0) + s.delta });
      }
    }
    return [...by.values()];
  };
}

function compare(
  expected: readonly Expected[],
  actual: Incident[],
  rules: Map<string, Rule>,
  where: (j?: number) => string,
  failures: string[],
  contributions: ContributionSource,
): void {
  const left = [...actual];
  const describe = (inc: Incident): string =>
    `${inc.status} ${inc.rule}${labelsText(Object.fromEntries(Object.entries(inc.labels).filter(([k]) => k !== 'rule')))} value ${formatValue(inc.value, valueUnit(rules.get(inc.rule)))}`;
  expected.forEach((exp, j) => {
    const rule = rules.get(exp.rule);
    const unit = valueUnit(rule);
    const same = left.filter((a) => a.rule === exp.rule && a.status === exp.status && !labelMismatch(exp, a, rule));
    const want = `${exp.status} ${exp.rule}${labelsText(exp.labels)}${exp.value !== undefined ? ` value ${exp.value}` : ''}`;
    if (same.length === 0) {
      const near = left.filter((a) => a.rule === exp.rule);
      failures.push(
        `${where(j)}: expected ${want} got ${near.length ? near.map(describe).join('; ') : 'no incident of that rule'}`,
      );
      return;
    }
    const problems: string[][] = same.map((inc) => {
      const p: string[] = [];
      if (exp.value !== undefined) {
        let v: number;
        try {
          v = parseThreshold(exp.value, unit, `value of ${exp.rule}`);
        } catch (err) {
          return [`value ${JSON.stringify(exp.value)}: ${(err as Error).message}`];
        }
        if (!(Math.abs(inc.value - v) <= Math.max(1e-12, Math.abs(v) * VALUE_TOLERANCE)))
          p.push(`value ${exp.value} got ${formatValue(inc.value, unit)}`);
      }
      if (exp.plan && rule)
        for (const d of planDiff(exp.plan, planFor(rule, inc, undefined, contributions))) p.push(`plan ${d}`);
      return p;
    });
    const best = problems.findIndex((p) => p.length === 0);
    const pick = best >= 0 ? best : 0;
    left.splice(left.indexOf(same[pick]), 1);
    if (best < 0) failures.push(`${where(j)}: ${want}: expected ${problems[0].join(', expected ')}`);
  });
  for (const extra of left) failures.push(`${where()}: unexpected ${describe(extra)}`);
}

/** Loads every RuleTest under `paths` and runs them; load errors come back as `errors`. */
export function runRuleTests(
  paths: readonly string[],
  opts: RunOptions,
): { results: RuleTestResult[]; errors: string[] } {
  const load = loadRules(paths, { actions: opts.actions, probes: opts.probes });
  if (load.errors.length)
    return { results: [], errors: load.errors.map((e) => e.message + (e.hint ? ` (hint: ${e.hint})` : '')) };
  return { results: load.tests.map((t) => runRuleTest(t, opts)), errors: [] };
}

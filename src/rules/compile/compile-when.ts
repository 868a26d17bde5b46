/**
 * Cross-field checks and conversion of `when` trees and label matchers, against the signal catalog:
 * known signals, stats that fit the signal's kind, thresholds in the right unit, labels the signals
 * carry, bounded regexes. Problems go to a reporter with their YAML path, so one pass finds them all.
 */
import { TriplineError } from '../../errors.ts';
import type { SignalSpec } from '../../signals.ts';
import type { Condition, ConditionTree, LabelMatcher, Matchers, Stat } from '../types.ts';
import type { RawWhen } from '../parse/schema.ts';
import type { PathSeg } from '../parse/locate.ts';
import { checkSignal, checkStat, parseDuration, parseThreshold, thresholdUnit } from './units.ts';
import { checkLabelRegex } from './regex-guard.ts';
import { didYouMean } from '../parse/suggest.ts';

/** Receives one problem at a path inside the document (`atKey`: point at the key, not its value). */
export type Reporter = (path: PathSeg[], err: TriplineError, atKey?: boolean) => void;

/** `all`/`any` may nest this deep; deeper trees are a mistake, and deep recursion a hazard. */
export const MAX_WHEN_DEPTH = 8;
/** Longest window a condition may look back over (the evaluator keeps this much history per series). */
export const MAX_WINDOW_MS = 3_600_000;

const CONDITION_KEYS = [
  'signal',
  'stat',
  'ratio',
  'window',
  'above',
  'below',
  'resolve_below',
  'resolve_above',
  'match',
] as const;

function schemaError(message: string, hint: string): TriplineError {
  return new TriplineError('RULE_ERR_SCHEMA', message, { hint });
}

/** Converts YAML matchers, checking regexes and (when `labels` is given) that the label exists. */
export function compileMatchers(
  raw: Record<string, unknown>,
  path: PathSeg[],
  report: Reporter,
  labels?: readonly string[],
  labelsOf?: string,
): Matchers {
  const out: Record<string, LabelMatcher> = {};
  for (const [label, m] of Object.entries(raw)) {
    if (labels && !labels.includes(label)) {
      report(
        [...path, label],
        new TriplineError('RULE_ERR_SIGNAL', `label ${JSON.stringify(label)} is not a label of ${labelsOf}`, {
          hint: didYouMean(label, labels, `its labels are: ${labels.join(', ')}`),
        }),
        true,
      );
    }
    if (typeof m === 'string') {
      out[label] = { op: 'equals', value: m };
      continue;
    }
    const o = m as Record<string, unknown>;
    if (o.regex !== undefined || o.not_regex !== undefined) {
      const op = o.regex !== undefined ? 'regex' : 'not_regex';
      const pattern = String(o[op]);
      try {
        checkLabelRegex(pattern);
      } catch (e) {
        report([...path, label, op], e as TriplineError);
      }
      out[label] = { op, pattern };
    } else if (o.not !== undefined) out[label] = { op: 'not', value: String(o.not) };
    else if (o.in !== undefined) out[label] = { op: 'in', values: Object.freeze([...(o.in as string[])]) };
    else out[label] = { op: 'not_in', values: Object.freeze([...(o.not_in as string[])]) };
  }
  return out;
}

/** Converts a `when` tree; every signal it names is added to `signals`. Undefined when it has problems. */
export function compileWhen(
  raw: RawWhen,
  path: PathSeg[],
  report: Reporter,
  signals: SignalSpec[],
  depth = 1,
): ConditionTree | undefined {
  const group = raw.all !== undefined ? 'all' : raw.any !== undefined ? 'any' : undefined;
  if (group) {
    const extra = Object.keys(raw).filter((k) => k !== group);
    if (extra.length) {
      report(
        [...path, extra[0]],
        schemaError(`${extra[0]} cannot sit beside ${group}`, `move it into one of the conditions under ${group}`),
        true,
      );
      return undefined;
    }
    if (depth >= MAX_WHEN_DEPTH) {
      report(
        [...path, group],
        schemaError(`all/any nested deeper than ${MAX_WHEN_DEPTH} levels`, 'flatten the conditions'),
      );
      return undefined;
    }
    const kids = raw[group]!.map((c, i) => compileWhen(c, [...path, group, i], report, signals, depth + 1));
    if (kids.some((k) => k === undefined)) return undefined;
    return group === 'all' ? { all: kids as ConditionTree[] } : { any: kids as ConditionTree[] };
  }
  return compileCondition(raw, path, report, signals);
}

function compileCondition(
  raw: RawWhen,
  path: PathSeg[],
  report: Reporter,
  signals: SignalSpec[],
): Condition | undefined {
  const before = signals.length;
  let ok = true;
  const fail = (p: PathSeg[], e: TriplineError, atKey = false): undefined => {
    ok = false;
    report(p, e, atKey);
    return undefined;
  };
  if (raw.signal === undefined && raw.ratio === undefined)
    return fail(
      path,
      schemaError(
        'a condition needs signal (with stat) or ratio',
        `write e.g. {signal: runq_delay_seconds, stat: p99, window: 30s, above: 10ms}, or all/any; keys are: ${CONDITION_KEYS.join(', ')}`,
      ),
    );
  if (raw.signal !== undefined && raw.ratio !== undefined)
    return fail([...path, 'ratio'], schemaError('a condition has signal or ratio, not both', 'drop one'), true);
  if (raw.ratio !== undefined && raw.stat !== undefined)
    fail(
      [...path, 'stat'],
      schemaError('a ratio takes no stat (it divides the increases of two counters over the window)', 'drop stat'),
      true,
    );
  if (raw.signal !== undefined && raw.stat === undefined)
    fail(
      path,
      schemaError(
        'a condition on a signal needs a stat',
        'add stat: p99 (or p50, p90, p95, p999, mean, max, min, last, rate, increase, count)',
      ),
    );
  if (raw.window === undefined) fail(path, schemaError('a condition needs a window', 'add window: 30s'));
  if ((raw.above === undefined) === (raw.below === undefined))
    fail(
      path,
      schemaError(
        'a condition needs exactly one of above or below',
        'write above: 10ms (fires when higher) or below: 10ms (fires when lower)',
      ),
    );
  if (raw.resolve_below !== undefined && raw.above === undefined)
    fail(
      [...path, 'resolve_below'],
      schemaError('resolve_below goes with above', 'use resolve_above with below'),
      true,
    );
  if (raw.resolve_above !== undefined && raw.below === undefined)
    fail(
      [...path, 'resolve_above'],
      schemaError('resolve_above goes with below', 'use resolve_below with above'),
      true,
    );
  let windowMs = 0;
  if (raw.window !== undefined) {
    windowMs = parseDuration(raw.window);
    if (windowMs < 1000 || windowMs > MAX_WINDOW_MS)
      fail(
        [...path, 'window'],
        schemaError(`window ${raw.window} is outside 1s..1h`, 'write a window between 1s and 1h'),
      );
  }
  // The signals, their stat, and the unit their threshold needs.
  let specs: SignalSpec[] = [];
  let unit: ReturnType<typeof thresholdUnit> | undefined;
  let what = '';
  const stat = (raw.stat ?? 'increase') as Stat;
  if (raw.signal !== undefined) {
    let s: SignalSpec | undefined;
    try {
      s = checkSignal(raw.signal);
      specs = [s];
    } catch (e) {
      fail([...path, 'signal'], e as TriplineError);
    }
    if (s && raw.stat !== undefined) {
      try {
        checkStat(s, stat);
        unit = thresholdUnit(s, stat);
        what = `${s.name} ${stat}`;
      } catch (e) {
        fail([...path, 'stat'], e as TriplineError);
      }
    }
  }
  if (raw.ratio !== undefined) {
    for (const side of ['of', 'to'] as const) {
      try {
        const s = checkSignal(raw.ratio[side]);
        if (s.kind !== 'counter')
          throw new TriplineError('RULE_ERR_SIGNAL', `a ratio divides counters, but ${s.name} is a ${s.kind}`, {
            hint: 'use two counters, e.g. of: cpu_throttled_periods, to: cpu_periods',
          });
        specs.push(s);
      } catch (e) {
        fail([...path, 'ratio', side], e as TriplineError);
      }
    }
    unit = 'percent';
    what = `${raw.ratio.of} / ${raw.ratio.to}`;
  }
  signals.push(...specs);
  const thresholds: Partial<Record<'above' | 'below' | 'resolve_below' | 'resolve_above', number>> = {};
  if (unit) {
    for (const k of ['above', 'below', 'resolve_below', 'resolve_above'] as const) {
      if (raw[k] === undefined) continue;
      try {
        thresholds[k] = parseThreshold(raw[k]!, unit, what);
      } catch (e) {
        fail([...path, k], e as TriplineError);
      }
    }
  }
  const op = raw.above !== undefined ? 'above' : 'below';
  const threshold = thresholds[op];
  const resolveThreshold = op === 'above' ? thresholds.resolve_below : thresholds.resolve_above;
  if (
    threshold !== undefined &&
    resolveThreshold !== undefined &&
    (op === 'above' ? resolveThreshold > threshold : resolveThreshold < threshold)
  ) {
    const k = op === 'above' ? 'resolve_below' : 'resolve_above';
    fail(
      [...path, k],
      schemaError(
        `${k} ${raw[k]} is past the firing threshold ${raw[op]}`,
        op === 'above' ? 'resolve_below must be at most above' : 'resolve_above must be at least below',
      ),
    );
  }
  const sigLabels = specs.length
    ? specs.map((s) => s.labels).reduce((a, b) => a.filter((l) => b.includes(l)))
    : undefined;
  const match = raw.match
    ? compileMatchers(raw.match, [...path, 'match'], report, sigLabels, specs.map((s) => s.name).join(' and '))
    : undefined;
  if (!ok || signals.length === before || threshold === undefined) return undefined;
  return {
    signal: specs[0].name,
    ...(raw.ratio ? { ratioTo: specs[1].name } : {}),
    stat,
    windowMs,
    op,
    threshold,
    ...(resolveThreshold !== undefined ? { resolveThreshold } : {}),
    thresholdText: String(raw[op]),
    ...(match ? { match } : {}),
  };
}

/**
 * From validated YAML documents (snake_case, strings with units) to the parsed, frozen structures of
 * types.ts (camelCase, milliseconds, base units), with the checks that span fields: group_by and match
 * labels exist on every signal of the rule, templates parse, cron expressions and time zones are valid.
 */
import cron from 'node-cron';
import { TriplineError } from '../../errors.ts';
import type { SignalSpec } from '../../signals.ts';
import type { Inhibition, Rule, Silence, SourceRef } from '../types.ts';
import type { InhibitionSpecDoc, RuleSpecDoc, SilenceSpecDoc } from '../parse/schema.ts';
import { compileMatchers, compileWhen, type Reporter } from './compile-when.ts';
import { compileTemplate, TemplateError } from './template.ts';
import { parseDuration } from './units.ts';
import { didYouMean } from '../parse/suggest.ts';

/** Deep-freezes plain data so nothing downstream can change a loaded rule. */
export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Labels every signal in `signals` carries (the only ones group_by and a rule's match may use). */
function commonLabels(signals: SignalSpec[]): string[] {
  return signals.map((s) => [...s.labels]).reduce((a, b) => a.filter((l) => b.includes(l)));
}

/** A Rule from its validated spec; undefined when any check failed (each one reported). */
export function compileRule(name: string, spec: RuleSpecDoc, source: SourceRef, report: Reporter): Rule | undefined {
  const before = { n: 0 };
  const r: Reporter = (p, e, k) => {
    before.n++;
    report(['spec', ...p], e, k);
  };
  const signals: SignalSpec[] = [];
  const when = compileWhen(spec.when, ['when'], r, signals);
  const labels = signals.length ? commonLabels(signals) : undefined;
  const names = [...new Set(signals.map((s) => s.name))].join(', ');
  spec.group_by.forEach((l, i) => {
    if (spec.group_by.indexOf(l) !== i)
      r(
        ['group_by', i],
        new TriplineError('RULE_ERR_DUPLICATE', `group_by lists ${JSON.stringify(l)} twice`, {
          hint: 'list each label once',
        }),
      );
    else if (labels && !labels.includes(l)) {
      r(
        ['group_by', i],
        new TriplineError('RULE_ERR_SIGNAL', `group_by label ${JSON.stringify(l)} is not a label of ${names}`, {
          hint: didYouMean(l, labels, `labels are: ${labels.join(', ')}`),
        }),
      );
    }
  });
  const match = compileMatchers(spec.match, ['match'], r, labels, names);
  spec.mute.forEach((m, i) => {
    if (!cron.validate(m.cron))
      r(
        ['mute', i, 'cron'],
        new TriplineError('RULE_ERR_SCHEMA', `${JSON.stringify(m.cron)} is not a cron expression`, {
          hint: 'five fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * 0" for Sundays 02:00',
        }),
      );
    if (m.timezone !== undefined && !validTimeZone(m.timezone))
      r(
        ['mute', i, 'timezone'],
        new TriplineError('RULE_ERR_SCHEMA', `unknown time zone ${JSON.stringify(m.timezone)}`, {
          hint: 'use an IANA name like Europe/Paris or UTC',
        }),
      );
  });
  // An incident's labels: the rule's own, `rule`, and the series labels its signals carry.
  const known = [...new Set([...(labels ?? []), ...Object.keys(spec.labels), 'rule'])];
  for (const [k, text] of Object.entries(spec.annotations)) {
    try {
      const t = compileTemplate(text);
      for (const ref of t.refs) {
        const label = ref.startsWith('labels.') ? ref.slice(7) : undefined;
        // A misspelt label would render as empty text on every incident: refuse it at load.
        if (label !== undefined && labels && !known.includes(label)) {
          r(
            ['annotations', k],
            new TriplineError(
              'RULE_ERR_TEMPLATE',
              `template reads .labels.${label}, which no incident of this rule has`,
              { hint: didYouMean(label, known, `labels are: ${known.join(', ')}`) },
            ),
          );
        }
      }
    } catch (e) {
      const t = e as TemplateError;
      r(
        ['annotations', k],
        new TriplineError('RULE_ERR_TEMPLATE', `template (at character ${t.column}): ${t.message}`, { hint: t.hint }),
      );
    }
  }
  if (before.n > 0 || when === undefined) return undefined;
  return deepFreeze({
    name,
    source,
    ...(spec.description !== undefined ? { description: spec.description } : {}),
    severity: spec.severity,
    labels: { ...spec.labels },
    groupBy: [...spec.group_by],
    match,
    when,
    forMs: parseDuration(spec.for),
    keepFiringForMs: parseDuration(spec.keep_firing_for),
    cooldownMs: parseDuration(spec.cooldown),
    maxTripsPerHour: spec.max_trips_per_hour,
    mute: spec.mute.map((m) => ({
      cron: m.cron,
      durationMs: parseDuration(m.duration),
      ...(m.timezone ? { timezone: m.timezone } : {}),
    })),
    annotations: { ...spec.annotations },
    ...(spec.capture
      ? {
          capture: {
            probes: [...spec.capture.probes],
            durationMs: parseDuration(spec.capture.duration),
            options: spec.capture.options as Record<string, Record<string, unknown>>,
            top: spec.capture.top,
            ...(spec.capture.bpftrace !== undefined ? { bpftrace: spec.capture.bpftrace } : {}),
          },
        }
      : {}),
    // Each action's own schema already converted it (snake_case YAML to its camelCase spec, durations to ms).
    actions: spec.actions,
  });
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A Silence from its validated spec (id = metadata.name). */
export function compileSilence(
  id: string,
  spec: SilenceSpecDoc,
  source: SourceRef,
  report: Reporter,
): Silence | undefined {
  let n = 0;
  const r: Reporter = (p, e, k) => {
    n++;
    report(['spec', ...p], e, k);
  };
  const matchers = compileMatchers(spec.matchers, ['matchers'], r);
  if (Object.keys(matchers).length === 0)
    r(
      ['matchers'],
      new TriplineError('RULE_ERR_SCHEMA', 'a silence needs at least one matcher', {
        hint: 'add e.g. matchers: {rule: cpu-throttling}',
      }),
    );
  const startsAt = Date.parse(spec.starts_at);
  const endsAt = Date.parse(spec.ends_at);
  if (endsAt <= startsAt)
    r(
      ['ends_at'],
      new TriplineError('RULE_ERR_SCHEMA', 'ends_at is not after starts_at', { hint: 'swap them or fix the times' }),
    );
  if (n) return undefined;
  return deepFreeze({ id, matchers, startsAt, endsAt, author: spec.author, comment: spec.comment, source });
}

/** An Inhibition from its validated spec. */
export function compileInhibition(
  name: string,
  spec: InhibitionSpecDoc,
  source: SourceRef,
  report: Reporter,
): Inhibition | undefined {
  let n = 0;
  const r: Reporter = (p, e, k) => {
    n++;
    report(['spec', ...p], e, k);
  };
  const sourceMatch = compileMatchers(spec.source_match, ['source_match'], r);
  const targetMatch = compileMatchers(spec.target_match, ['target_match'], r);
  if (n) return undefined;
  return deepFreeze({ name, sourceMatch, targetMatch, equal: [...spec.equal], source });
}

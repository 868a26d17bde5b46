/**
 * The rule file format: zod schemas of the YAML documents (Kubernetes style: `apiVersion`, `kind`,
 * `metadata`, `spec`), strict everywhere so a misspelt key is an error instead of a silently ignored
 * option. Defaults live in RULE_DEFAULTS and nowhere else. Cross-field checks that need the signal
 * catalog (units, stats, labels) happen in compile.ts; this file only knows shapes.
 */
import { z } from 'zod';
import { DURATION_PATTERN, STATS } from '../compile/units.ts';
import { MAX_LABEL_VALUE_LENGTH } from '../compile/regex-guard.ts';
import type { Cause } from '../../bundle/types.ts';

/** The only apiVersion this release reads. */
export const API_VERSION = 'tripline.dev/v1';
/** Document kinds, in the order the docs list them. */
export const KINDS = ['Rule', 'Silence', 'Inhibition', 'RuleTest'] as const;
export type Kind = (typeof KINDS)[number];

/** Every default of the rule format. */
export const RULE_DEFAULTS = {
  severity: 'warning',
  for: '0s',
  keep_firing_for: '0s',
  cooldown: '5m',
  max_trips_per_hour: 10,
  capture: { duration: '10s' },
  scale: {
    target: 'auto',
    step: '+1',
    max: 10,
    cooldown: '10m',
    dry_run: false,
    when_cause: ['limit-bound'],
    verify: '2m',
  },
  webhook: { timeout: '5s' },
  test: { interval: '1s', status: 'firing' },
} as const;

/** metadata.name: a DNS label, so names work as file names, URL parts and Kubernetes object names. */
export const NAME_PATTERN = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
export const LABEL_NAME_PATTERN = '^[a-zA-Z_][a-zA-Z0-9_]{0,62}$';

const DURATION_WORDS = 'expected a duration like 250us, 5ms, 1.5s, 2m, 4h';
const duration = z.string({ error: DURATION_WORDS }).regex(new RegExp(DURATION_PATTERN), { error: DURATION_WORDS });
const labelName = z
  .string()
  .regex(new RegExp(LABEL_NAME_PATTERN), { error: 'expected a label name (letters, digits, _)' });
const labelValue = z.string({ error: 'expected a string (quote numbers: "500")' }).max(MAX_LABEL_VALUE_LENGTH);
const threshold = z.union([z.string(), z.number()], { error: 'expected a threshold like 10ms, 20/s, 20% or 5' });
const name = z.string().regex(new RegExp(NAME_PATTERN), {
  error: 'expected a lowercase name of letters, digits and -, at most 63 characters (like cpu-throttling)',
});
const signalName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,100}$/, { error: 'expected a signal name like runq_delay_seconds' });

/** `label: value` (equals) or `label: {not | regex | not_regex | in | not_in: …}` (exactly one). */
export const MatcherSchema = z.union([
  labelValue,
  z
    .strictObject({
      not: labelValue.optional(),
      regex: z.string().optional(),
      not_regex: z.string().optional(),
      in: z.array(labelValue).min(1).optional(),
      not_in: z.array(labelValue).min(1).optional(),
    })
    .refine((o) => Object.keys(o).length === 1, {
      error: 'a matcher has exactly one of: not, regex, not_regex, in, not_in',
    }),
]);
export const MatchersSchema = z.record(labelName, MatcherSchema);

/** The YAML shape of `when` and of each element of `all`/`any`. */
export interface RawWhen {
  signal?: string;
  stat?: (typeof STATS)[number];
  ratio?: { of: string; to: string };
  window?: string;
  above?: string | number;
  below?: string | number;
  resolve_below?: string | number;
  resolve_above?: string | number;
  match?: Record<string, z.output<typeof MatcherSchema>>;
  all?: RawWhen[];
  any?: RawWhen[];
}

/**
 * A condition, or `all`/`any` of conditions. One flat strict object rather than a union, so a typo
 * gets "unknown key" with a suggestion rather than "matches none of four shapes"; which keys go
 * together is checked in compile.ts.
 */
export const WhenSchema: z.ZodType<RawWhen> = z
  .lazy(() =>
    z.strictObject({
      signal: signalName.optional().describe('A catalog signal (docs/rules.md, Signals).'),
      stat: z
        .enum(STATS as [string, ...string[]])
        .optional()
        .describe(
          'Statistic over the window: quantiles and mean need a histogram, rate/increase a counter or histogram.',
        ),
      ratio: z
        .strictObject({ of: signalName, to: signalName })
        .optional()
        .describe('Increase of counter `of` / increase of counter `to` over the window; threshold in %.'),
      window: duration.optional().describe('Sliding window, 1s..1h.'),
      above: threshold
        .optional()
        .describe('Fires when the value is higher; with the unit of the signal (10ms, 20/s, 20%, 5).'),
      below: threshold.optional().describe('Fires when the value is lower.'),
      resolve_below: threshold.optional().describe('With above: resolves only once below this.'),
      resolve_above: threshold.optional().describe('With below: resolves only once above this.'),
      match: MatchersSchema.optional().describe('Label matchers for this condition only.'),
      all: z.array(WhenSchema).min(1).optional().describe('Holds when every member holds.'),
      any: z.array(WhenSchema).min(1).optional().describe('Holds when any member holds.'),
    }),
  )
  .meta({ id: 'When', description: 'A condition, or all/any of conditions.' }) as z.ZodType<RawWhen>;

const D = RULE_DEFAULTS;

/** Diagnoses a scale action may act on (the bundle's Cause), or `any`. A typo would never scale, so it is an error. */
export const SCALE_CAUSES = ['limit-bound', 'contention', 'app-bound', 'unknown', 'any'] as const satisfies readonly (
  Cause | 'any'
)[];
// Fails to type-check when the bundle gains a Cause this list lacks.
const everyCause: Exclude<Cause, (typeof SCALE_CAUSES)[number]> extends never ? true : never = true;
void everyCause;

export const SlackActionSchema = z.strictObject({
  type: z.literal('slack'),
  channel: z.string().optional(),
  mention: z.string().optional(),
});
export const ScaleActionSchema = z.strictObject({
  type: z.literal('scale'),
  target: z
    .union([z.literal('auto'), z.strictObject({ kind: z.enum(['Deployment', 'StatefulSet']), namespace: name, name })])
    .default(D.scale.target),
  step: z
    .string()
    .regex(/^(\+[1-9]\d{0,2}|x[1-9]\d?(\.\d+)?)$/, { error: "expected a step like '+1' or 'x1.5'", abort: true })
    .refine((s) => s.startsWith('+') || Number(s.slice(1)) > 1, { error: "a multiplier must be above 1, like 'x1.5'" })
    .default(D.scale.step),
  max: z.number().int().min(1).max(1000).default(D.scale.max),
  cooldown: duration.default(D.scale.cooldown),
  dry_run: z.boolean().default(D.scale.dry_run),
  when_cause: z
    .array(z.enum(SCALE_CAUSES))
    .min(1)
    .default([...D.scale.when_cause]),
  verify: duration.default(D.scale.verify),
});
export const WebhookActionSchema = z.strictObject({
  type: z.literal('webhook'),
  url: z.string().regex(/^https?:\/\/[^\s]+$/, { error: 'expected an http:// or https:// URL' }),
  secret_env: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'expected the NAME of an environment variable (never the secret itself)' })
    .optional(),
  timeout: duration.default(D.webhook.timeout),
  headers: z.record(z.string(), z.string()).optional(),
});
export const LogActionSchema = z.strictObject({ type: z.literal('log') });
export const ActionSchema = z.discriminatedUnion('type', [
  SlackActionSchema,
  ScaleActionSchema,
  WebhookActionSchema,
  LogActionSchema,
]);
export const ACTION_TYPES = ['slack', 'scale', 'webhook', 'log'] as const;

export const CaptureSchema = z.strictObject({
  /** Deep probes to attach; empty means the defaults for the rule's signals. */
  probes: z
    .array(
      z.string().regex(/^[a-z][a-z0-9]*$/, {
        error: 'expected a deep probe name like runqslower (lowercase letters and digits)',
      }),
    )
    .default([]),
  duration: duration.default(D.capture.duration),
  options: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  bpftrace: z.string().max(65536).optional(),
});

export const RuleSpecSchema = z.strictObject({
  description: z.string().optional().describe('Free text shown with incidents.'),
  severity: z.enum(['info', 'warning', 'critical']).default(D.severity),
  labels: z.record(labelName, labelValue).default({}).describe('Labels added to every incident of the rule.'),
  group_by: z.array(labelName).default([]).describe('Series labels: one state machine per distinct value tuple.'),
  match: MatchersSchema.default({}).describe('Label matchers every series of every condition must satisfy.'),
  when: WhenSchema,
  for: duration.default(D.for).describe('How long the condition must hold before firing.'),
  keep_firing_for: duration
    .default(D.keep_firing_for)
    .describe('How long a firing series stays firing after the condition stops holding.'),
  cooldown: duration.default(D.cooldown).describe('Minimum time between two trips of one series.'),
  max_trips_per_hour: z
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(D.max_trips_per_hour)
    .describe('Cap of trips per hour for the whole rule.'),
  mute: z
    .array(z.strictObject({ cron: z.string(), duration, timezone: z.string().optional() }))
    .default([])
    .describe('Mute windows: a cron expression starts a window of `duration`.'),
  annotations: z
    .record(z.string().regex(/^[a-z][a-z0-9_]*$/), z.string())
    .default({})
    .describe('Templates rendered per incident: {{ .labels.NAME }}, {{ .value | duration }}.'),
  capture: CaptureSchema.optional().describe('Deep probes attached to the offender when the rule trips.'),
  actions: z.array(ActionSchema).default([]).describe('What runs on a trip: slack, scale, webhook, log.'),
});

export const SilenceSpecSchema = z.strictObject({
  matchers: MatchersSchema,
  starts_at: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 time like 2026-11-29T02:00:00Z' }),
  ends_at: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 time like 2026-11-29T03:00:00Z' }),
  author: z.string().min(1),
  comment: z.string().min(1),
});

export const InhibitionSpecSchema = z.strictObject({
  source_match: MatchersSchema,
  target_match: MatchersSchema,
  equal: z.array(labelName).default([]),
});

/** Series notation: `0+30x60` (start, step, count), `1 2 _ 4` (`_` missing), `5x10` (repeat). */
const series = z.string().max(65536);

export const RuleTestSpecSchema = z.strictObject({
  /** Rule files the test loads, relative to the test file. */
  rule_files: z.array(z.string().min(1)).min(1),
  /** Time between two series points. */
  interval: duration.default(D.test.interval),
  input: z
    .array(
      z.strictObject({
        signal: signalName,
        labels: z.record(labelName, labelValue).default({}),
        /** Counter or gauge values (cumulative for counters). */
        values: series.optional(),
        /** Histogram: cumulative count series per upper bound (`5ms`, `0.005`, `+Inf`). */
        buckets: z.record(z.string(), series).optional(),
      }),
    )
    .min(1),
  expect: z
    .array(
      z.strictObject({
        at: duration,
        /** Every incident firing (or just resolved) at that time; empty means none. */
        incidents: z.array(
          z.strictObject({
            rule: name,
            status: z.enum(['firing', 'resolved']).default(D.test.status),
            labels: z.record(labelName, labelValue).default({}),
            value: threshold.optional(),
            plan: z
              .strictObject({
                probes: z.array(z.string()).optional(),
                actions: z.array(z.looseObject({ type: z.enum(ACTION_TYPES) })).optional(),
              })
              .optional(),
          }),
        ),
      }),
    )
    .min(1),
});

/** A parsed RuleTest spec as written (snake_case, durations and series as strings; see series-notation.ts). */
export type RuleTestSpec = z.output<typeof RuleTestSpecSchema>;
export type RuleSpecDoc = z.output<typeof RuleSpecSchema>;
export type SilenceSpecDoc = z.output<typeof SilenceSpecSchema>;
export type InhibitionSpecDoc = z.output<typeof InhibitionSpecSchema>;
export type ActionDoc = z.output<typeof ActionSchema>;

export const MetadataSchema = z.strictObject({
  name,
  labels: z.record(labelName, labelValue).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

function doc<K extends Kind, S extends z.ZodType>(kind: K, spec: S) {
  return z.strictObject({ apiVersion: z.literal(API_VERSION), kind: z.literal(kind), metadata: MetadataSchema, spec });
}

/** One schema per kind; load.ts checks apiVersion and kind first, then parses with the matching one. */
export const DOCUMENT_SCHEMAS = {
  Rule: doc('Rule', RuleSpecSchema),
  Silence: doc('Silence', SilenceSpecSchema),
  Inhibition: doc('Inhibition', InhibitionSpecSchema),
  RuleTest: doc('RuleTest', RuleTestSpecSchema),
} as const;

/** Any document (for the JSON Schema editors use). */
export const DocumentSchema = z.discriminatedUnion('kind', [
  DOCUMENT_SCHEMAS.Rule,
  DOCUMENT_SCHEMAS.Silence,
  DOCUMENT_SCHEMAS.Inhibition,
  DOCUMENT_SCHEMAS.RuleTest,
]);

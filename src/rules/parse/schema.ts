/**
 * The rule file format: zod schemas of the YAML documents (Kubernetes style: `apiVersion`, `kind`,
 * `metadata`, `spec`), strict everywhere so a misspelt key is an error instead of a silently ignored
 * option. Defaults live in RULE_DEFAULTS and nowhere else, except an action's: each action's schema (with its
 * defaults) lives in its module under src/actions/ and reaches the loader through the action catalog it is
 * given, so this layer never imports the actions. Cross-field checks that need the signal catalog (units, stats,
 * labels) happen in compile.ts; this file only knows shapes.
 */
import { z } from 'zod';
import { DURATION_PATTERN, STATS } from '../compile/units.ts';
import { MAX_LABEL_VALUE_LENGTH } from '../compile/regex-guard.ts';
import type { ActionSpec } from '../types.ts';

/** The only apiVersion this release reads. */
export const API_VERSION = 'tripline.dev/v1';
/** Document kinds, in the order the docs list them. */
export const KINDS = ['Rule', 'Silence', 'Inhibition', 'RuleTest'] as const;
export type Kind = (typeof KINDS)[number];

/** Every default of the rule format (an action's defaults are in its schema, src/actions/). */
export const RULE_DEFAULTS = {
  severity: 'warning',
  for: '0s',
  keep_firing_for: '0s',
  cooldown: '5m',
  max_trips_per_hour: 10,
  capture: { duration: '10s', top: 3 },
  test: { interval: '1s', status: 'firing' },
} as const;

/** metadata.name: a DNS label, so names work as file names, URL parts and Kubernetes object names. */
export const NAME_PATTERN = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
export const LABEL_NAME_PATTERN = '^[a-zA-Z_][a-zA-Z0-9_]{0,62}$';

const DURATION_WORDS = 'expected a duration like 250us, 5ms, 1.5s, 2m, 4h';
const duration = z.string({ error: DURATION_WORDS }).regex(new RegExp(DURATION_PATTERN), { error: DURATION_WORDS });
/** A duration as written (`250us`, `5ms`, `1.5s`, `2m`, `4h`), for action schemas too; parseDuration converts it. */
export const DurationSchema = duration;
const labelName = z
  .string()
  .regex(new RegExp(LABEL_NAME_PATTERN), { error: 'expected a label name (letters, digits, _)' });
const labelValue = z.string({ error: 'expected a string (quote numbers: "500")' }).max(MAX_LABEL_VALUE_LENGTH);
const threshold = z.union([z.string(), z.number()], { error: 'expected a threshold like 10ms, 20/s, 20% or 5' });
const name = z.string().regex(new RegExp(NAME_PATTERN), {
  error: 'expected a lowercase name of letters, digits and -, at most 63 characters (like cpu-throttling)',
});
/** A DNS-label name (metadata.name, a Kubernetes object's name). */
export const NameSchema = name;
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

/** What the loader needs of one action type: the schema of its spec (strict, with its defaults; YAML in, ActionSpec out). */
export interface ActionSchemaEntry {
  readonly spec: z.ZodType<ActionSpec>;
}

/**
 * The action types a rule may use, by type name, in the order the docs list them. The callers above the rules
 * layer (engine, `tripline check`, `tripline test`) pass the action registry (src/actions/registry.ts), which
 * has this shape; the rules layer never imports the actions.
 */
export type ActionCatalog = Readonly<Record<string, ActionSchemaEntry | undefined>>;

/** The catalog's type names. */
export function actionTypes(catalog: ActionCatalog): string[] {
  return Object.keys(catalog).filter((t) => catalog[t]);
}

/**
 * One element of a rule's `actions`: the catalog's schemas told apart by `type`, so an unknown type gets
 * "one of ..." with a suggestion, and an unknown key the keys of that type.
 */
function actionSchema(catalog: ActionCatalog): z.ZodType<ActionSpec> {
  const specs = actionTypes(catalog).map((t) => catalog[t]!.spec);
  // Each spec is a strict object (perhaps piped into a transform) with a literal `type`, as discriminatedUnion needs.
  return z.discriminatedUnion('type', specs as unknown as [z.ZodObject]) as unknown as z.ZodType<ActionSpec>;
}

/**
 * What the loader needs of one deep probe: the schema of its options (`capture.options.<probe>`). The callers
 * above the rules layer pass the deep probe catalog (src/probes/deep/index.ts); without it, probe names and
 * options are only checked for shape (and again when a capture prepares the probe).
 */
export interface ProbeSchemaEntry {
  readonly options?: z.ZodType;
}
/** The deep probes a rule may name, by name. */
export type ProbeCatalog = Readonly<Record<string, ProbeSchemaEntry | undefined>>;

const probeName = z.string().regex(/^[a-z][a-z0-9]*$/, {
  error: 'expected a deep probe name like runqslower (lowercase letters and digits)',
});

/** The `capture:` of a rule; with a probe catalog, names are the catalog's and each probe's options its schema's. */
export function captureSchema(probes?: ProbeCatalog) {
  const names = probes ? Object.keys(probes).filter((n) => probes[n]) : [];
  return z.strictObject({
    /** Deep probes to attach; empty means the defaults for the rule's signals. */
    probes: z.array(probes ? z.enum(names as [string, ...string[]]) : probeName).default([]),
    duration: duration.default(D.capture.duration),
    options: (probes
      ? z.strictObject(
          Object.fromEntries(
            names.map((n) => [n, (probes[n]!.options ?? z.record(z.string(), z.unknown())).optional()]),
          ),
        )
      : z.record(z.string(), z.record(z.string(), z.unknown()))
    ).default({}) as z.ZodType<Record<string, Record<string, unknown>>>,
    bpftrace: z.string().max(65536).optional(),
    /** Host-wide trips (series without a cgroup): how many top contributors of the signal's per-cgroup twin to capture. */
    top: z
      .number()
      .int()
      .min(1)
      .max(8)
      .default(D.capture.top)
      .describe(
        'When the tripped series has no cgroup: how many top contributing cgroups (by the signal’s per-cgroup twin) to capture, 1 to 8.',
      ),
  });
}

export const CaptureSchema = captureSchema();

/** A Rule's spec, its actions validated by `action` (the catalog's union). */
function ruleSpecSchema(action: z.ZodType<ActionSpec>, types: readonly string[], probes?: ProbeCatalog) {
  return z.strictObject({
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
    capture: captureSchema(probes).optional().describe('Deep probes attached to the offender when the rule trips.'),
    // prefault, not default: the elements transform (YAML to spec), and the JSON Schema keeps only input defaults.
    actions: z
      .array(action)
      .prefault([])
      .describe(`What runs on a trip: ${types.join(', ')}.`),
  });
}

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

/** A RuleTest's spec; expected plans name action types of the catalog. */
function ruleTestSpecSchema(types: readonly string[]) {
  return z.strictObject({
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
                  /** Whom the capture aims at: the incident's target, the top contributors, or the host. */
                  scope: z.enum(['target', 'contributors', 'host']).optional(),
                  /** The contributors chosen (cgroup paths), largest first. */
                  contributors: z.array(z.string()).optional(),
                  actions: z.array(z.looseObject({ type: z.enum(types as [string, ...string[]]) })).optional(),
                })
                .optional(),
            }),
          ),
        }),
      )
      .min(1),
  });
}

/** A parsed RuleTest spec as written (snake_case, durations and series as strings; see series-notation.ts). */
export type RuleTestSpec = z.output<ReturnType<typeof ruleTestSpecSchema>>;
/** A validated Rule spec (snake_case; its actions already converted by their schemas). */
export type RuleSpecDoc = z.output<ReturnType<typeof ruleSpecSchema>>;
export type SilenceSpecDoc = z.output<typeof SilenceSpecSchema>;
export type InhibitionSpecDoc = z.output<typeof InhibitionSpecSchema>;

export const MetadataSchema = z.strictObject({
  name,
  labels: z.record(labelName, labelValue).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

function doc<K extends Kind, S extends z.ZodType>(kind: K, spec: S) {
  return z.strictObject({ apiVersion: z.literal(API_VERSION), kind: z.literal(kind), metadata: MetadataSchema, spec });
}

function documentsOf(catalog: ActionCatalog, probes?: ProbeCatalog) {
  const types = actionTypes(catalog);
  return {
    Rule: doc('Rule', ruleSpecSchema(actionSchema(catalog), types, probes)),
    Silence: doc('Silence', SilenceSpecSchema),
    Inhibition: doc('Inhibition', InhibitionSpecSchema),
    RuleTest: doc('RuleTest', ruleTestSpecSchema(types)),
  } as const;
}

/** The document schemas of one action catalog, one per kind. */
export type DocumentSchemas = ReturnType<typeof documentsOf>;

const built = new WeakMap<ActionCatalog, WeakMap<ProbeCatalog, DocumentSchemas>>();
const NO_PROBES: ProbeCatalog = {};

/** One schema per kind for rules whose actions come from `catalog` (built once per catalog); parse-file.ts checks apiVersion and kind first, then parses with the matching one. */
export function documentSchemas(catalog: ActionCatalog, probes?: ProbeCatalog): DocumentSchemas {
  let byProbes = built.get(catalog);
  if (!byProbes) built.set(catalog, (byProbes = new WeakMap()));
  let d = byProbes.get(probes ?? NO_PROBES);
  if (!d) {
    d = documentsOf(catalog, probes);
    byProbes.set(probes ?? NO_PROBES, d);
  }
  return d;
}

/** Any document (for the JSON Schema editors use). */
export function documentSchema(catalog: ActionCatalog, probes?: ProbeCatalog) {
  const d = documentSchemas(catalog, probes);
  return z.discriminatedUnion('kind', [d.Rule, d.Silence, d.Inhibition, d.RuleTest]);
}

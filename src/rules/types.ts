/**
 * Parsed rules: what `src/rules/load.ts` produces from YAML after validation (frozen), and what the
 * evaluator, the capture manager and the actions consume. Durations are milliseconds, thresholds are
 * in the signal's base unit (seconds, count, ratio 0..1, per second for rates).
 */
import type { Severity } from '../incident.ts';

/** Where a document came from, for errors and for `tripline check`. */
export interface SourceRef {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** One label matcher. `equals: "x"` is written as plain `label: x` in YAML. */
export type LabelMatcher =
  | { readonly op: 'equals'; readonly value: string }
  | { readonly op: 'not'; readonly value: string }
  | { readonly op: 'regex'; readonly pattern: string }
  | { readonly op: 'not_regex'; readonly pattern: string }
  | { readonly op: 'in'; readonly values: readonly string[] }
  | { readonly op: 'not_in'; readonly values: readonly string[] };

export type Matchers = Readonly<Record<string, LabelMatcher>>;

/** Statistics a condition may take over its window. Quantiles and mean need a histogram signal. */
export type Stat =
  'p50' | 'p90' | 'p95' | 'p99' | 'p999' | 'mean' | 'max' | 'min' | 'last' | 'rate' | 'increase' | 'count';

/** A threshold condition over one signal, or over the ratio of two counters. */
export interface Condition {
  /** The signal (catalog name), or for a ratio the numerator. */
  readonly signal: string;
  /** For a ratio: the denominator signal; stat is then the ratio of the two increases over the window. */
  readonly ratioTo?: string;
  readonly stat: Stat;
  readonly windowMs: number;
  readonly op: 'above' | 'below';
  /** Threshold in base units (seconds; per second for rate; 0..1 for percentages/ratios). */
  readonly threshold: number;
  /** Hysteresis: the series resolves only once the value is back past this (defaults to threshold). */
  readonly resolveThreshold?: number;
  /** The threshold as written (`5ms`, `20/s`, `2%`), for messages. */
  readonly thresholdText: string;
  /** Extra label matchers for this condition only. */
  readonly match?: Matchers;
}

export type ConditionTree =
  { readonly all: readonly ConditionTree[] } | { readonly any: readonly ConditionTree[] } | Condition;

export interface MuteWindow {
  /** Five-field cron expression of the window's start (node-cron syntax). */
  readonly cron: string;
  readonly durationMs: number;
  readonly timezone?: string;
}

/** Deep probes to attach when the rule trips (names from the deep probe catalog). */
export interface CaptureSpec {
  /** Probe names; when omitted in YAML, defaults per signal (src/rules/plan.ts `defaultProbes`). */
  readonly probes: readonly string[];
  readonly durationMs: number;
  /** Per-probe options, validated by the probe (e.g. `{ runqslower: { threshold_ms: 5 } }`). */
  readonly options: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Optional bpftrace program text for the `bpftrace` probe. */
  readonly bpftrace?: string;
  /** Host-wide trips: top contributing cgroups to capture (src/rules/contributors.ts). @defaultValue 3 */
  readonly top?: number;
}

/**
 * One of a rule's actions as the rules layer sees it: the action's type and its options (camelCase, base units),
 * already validated and converted by that action's own schema, which the loader gets from the action catalog
 * (`LoadOptions.actions`). The typed specs live with their actions (`SlackActionSpec` in src/actions/slack/spec.ts,
 * ...); the rules layer only carries them.
 */
export interface ActionSpec {
  readonly type: string;
  readonly [option: string]: unknown;
}

export interface Rule {
  readonly name: string;
  readonly source: SourceRef;
  readonly description?: string;
  readonly severity: Severity;
  /** Extra labels put on every incident of the rule. */
  readonly labels: Readonly<Record<string, string>>;
  /** Series labels; one state machine per distinct value tuple. */
  readonly groupBy: readonly string[];
  readonly match: Matchers;
  readonly when: ConditionTree;
  readonly forMs: number;
  readonly keepFiringForMs: number;
  readonly cooldownMs: number;
  readonly maxTripsPerHour: number;
  readonly mute: readonly MuteWindow[];
  /** Annotation templates (`{{ .labels.pod }}`, `{{ .value | duration }}`), rendered per incident. */
  readonly annotations: Readonly<Record<string, string>>;
  readonly capture?: CaptureSpec;
  readonly actions: readonly ActionSpec[];
}

export interface Silence {
  readonly id: string;
  readonly matchers: Matchers;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly author: string;
  readonly comment: string;
  readonly source?: SourceRef;
}

/** While a source incident fires, target incidents with equal values of `equal` labels are inhibited. */
export interface Inhibition {
  readonly name: string;
  readonly sourceMatch: Matchers;
  readonly targetMatch: Matchers;
  readonly equal: readonly string[];
  readonly source?: SourceRef;
}

/** A loaded, validated, frozen rule set. */
export interface RuleSet {
  readonly rules: readonly Rule[];
  readonly silences: readonly Silence[];
  readonly inhibitions: readonly Inhibition[];
}

/**
 * Re-reading a rule's signal for some of its series: the network side's scale verification asks the probe side
 * (which holds the rules' windows) for the value of a rule's conditions over the series of one workload, before and
 * after it scaled. The query is narrow and bounded (a rule name and label matchers, nothing to evaluate), since the
 * probe side parses it; the reading is data the probe side computed, validated on receipt all the same.
 */
import { z } from 'zod';

/** Label names as series carry them (`pod_uid`, `cgroup_id`, `namespace`, `workload`, …). */
const LabelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/, 'expected a label name');

/** One way to pick series: every listed label must have one of the listed values. */
export const SeriesMatchSchema = z
  .record(LabelName, z.array(z.string().max(512)).min(1).max(16))
  .refine((m) => Object.keys(m).length >= 1 && Object.keys(m).length <= 8, 'between 1 and 8 labels');

/**
 * `rule`: whose conditions (signal, stat, window, threshold) to compute. `match`: alternatives tried in order; the
 * first that selects at least one series of the rule is used (e.g. `{namespace, workload}` where series carry
 * workload names, else `{pod_uid}`, else `{cgroup_id}`), so one query works whatever labels the series carry.
 */
export const SignalQuerySchema = z.strictObject({
  rule: z.string().min(1).max(256),
  match: z.array(SeriesMatchSchema).min(1).max(4),
});

/** A finite number, or null for "no data in the window" (NaN and infinities do not cross JSON). */
const Value = z.number().finite().nullable();

/** What the probe side computed. */
export const SignalReadingSchema = z.strictObject({
  /** The rule is loaded on the probe side. */
  found: z.boolean(),
  /** Index of the `match` alternative used; -1 when none selected a series. */
  matched: z.number().int().min(-1).max(3),
  /** Series read (all conditions together). */
  series: z.number().int().min(0).max(1_000_000),
  /** When it was computed (epoch ms). */
  at: z.number(),
  /** Per leaf condition of the rule, in document order: its statistic over its window, across the matched series. */
  leaves: z
    .array(
      z.strictObject({
        signal: z.string().max(256),
        stat: z.string().max(32),
        windowMs: z.number().int().min(0),
        value: Value,
        op: z.enum(['above', 'below']),
        thresholdText: z.string().max(64),
      }),
    )
    .max(16),
  /** The rule's condition tree on these values, with its resolve thresholds; null without data. */
  breaching: z.boolean().nullable(),
});

/** A query for `signal.read`. */
export type SignalQuery = z.output<typeof SignalQuerySchema>;
/** The answer to a SignalQuery. */
export type SignalReading = z.output<typeof SignalReadingSchema>;
/** Reads a rule's signal for some series (the channel in `tripline run`, a direct call in one process). */
export type SignalReader = (query: SignalQuery) => Promise<SignalReading>;

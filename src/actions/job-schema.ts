/**
 * What a stored job must look like before it runs. Jobs come back from Redis, which anything on the network that
 * can write to it controls: each is validated here (bounded, nothing unknown), and its action spec is then rebuilt
 * from the rules this side was given (rule name, version, action index) instead of being taken from the job.
 */
import { z } from 'zod';
import { BundleRefSchema, IncidentSchema } from '../incident-schema.ts';
import { ACTION_EVENTS, type ActionEvent, type ActionJob } from './types.ts';
import type { ActionSpec } from '../rules/types.ts';

const spec = z.looseObject({ type: z.string().min(1).max(64) });

/** The stored job (see ActionJob). */
export const StoredJobSchema = z.strictObject({
  id: z.string().min(1).max(256),
  event: z.enum(ACTION_EVENTS as [ActionEvent, ...ActionEvent[]]),
  incident: IncidentSchema,
  bundle: BundleRefSchema.optional(),
  spec,
  index: z.number().int().min(0).max(63),
  actions: z.array(spec).max(64),
  rule: z.strictObject({ name: z.string().max(256), hash: z.string().regex(/^[0-9a-f]{16}$/) }).optional(),
  detail: z
    .record(z.string().max(64), z.union([z.string().max(4096), z.number(), z.boolean(), z.null()]))
    .refine((d) => Object.keys(d).length <= 32, 'at most 32 details')
    .optional(),
  seq: z.string().max(256).optional(),
  dryRun: z.boolean().optional(),
  enqueuedAt: z.number(),
  notBefore: z.number().optional(),
});

/** One version of a rule's actions, as the rules this side was given hold it. */
export interface RuleVersion {
  readonly name: string;
  readonly hash: string;
  readonly actions: readonly ActionSpec[];
}

/** Finds a rule version by name and hash; undefined when this side was never given it. */
export type RuleLookup = (name: string, hash: string) => RuleVersion | undefined;

/** Why a stored job was refused: the reason label of the failure metric and a message. */
export interface Refused {
  readonly reason: 'invalid_job' | 'unknown_rule' | 'rule_mismatch';
  readonly message: string;
}

/**
 * The job to run: validated, and — with `rules` — its spec and the rule's action list rebuilt from the rule version
 * it names. A job without a rule version is refused when `rules` is given (every dispatched job names one).
 */
export function checkStoredJob(raw: unknown, rules?: RuleLookup): ActionJob | Refused {
  const r = StoredJobSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    return { reason: 'invalid_job', message: `invalid job data: ${i.path.join('.') || '(job)'}: ${i.message}` };
  }
  const job = r.data as unknown as ActionJob;
  if (!rules) return job;
  if (!r.data.rule)
    return { reason: 'unknown_rule', message: 'the job names no rule version: its actions cannot be rebuilt' };
  const version = rules(r.data.rule.name, r.data.rule.hash);
  if (!version)
    return {
      reason: 'unknown_rule',
      message: `rule ${JSON.stringify(r.data.rule.name)} version ${r.data.rule.hash} is not loaded here (changed or removed since the job was queued)`,
    };
  const own = version.actions[r.data.index];
  if (!own || own.type !== r.data.spec.type || version.name !== r.data.incident.rule)
    return {
      reason: 'rule_mismatch',
      message: `actions[${r.data.index}] of rule ${version.name} is not a ${JSON.stringify(r.data.spec.type)} action for this incident`,
    };
  return { ...job, spec: own, actions: version.actions };
}

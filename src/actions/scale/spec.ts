/** The scale action's spec: its schema (what a rule may write, with its defaults) and its doc row. */
import { z } from 'zod';
import { CAUSES } from '../../bundle/types.ts';
import { DurationSchema, NameSchema } from '../../rules/parse/schema.ts';
import { parseDuration } from '../../rules/compile/units.ts';
import type { ActionDoc } from '../types.ts';

/** Diagnoses a scale action may act on (the bundle's Cause), or `any`. A typo would never scale, so it is an error. */
export const SCALE_CAUSES = [...CAUSES, 'any'] as const;

/** `{type: scale, target?, step?, max?, cooldown?, dry_run?, when_cause?, verify?, restore?, restore_after?, approval?, approval_timeout?}`, loaded in camelCase with durations in ms. */
export const scaleSpec = z
  .strictObject({
    type: z.literal('scale'),
    target: z
      .union([
        z.literal('auto'),
        z.strictObject({ kind: z.enum(['Deployment', 'StatefulSet']), namespace: NameSchema, name: NameSchema }),
      ])
      .default('auto')
      .describe(
        "`auto`: the owner of the incident's pod; or a workload `{kind: Deployment | StatefulSet, namespace, name}`.",
      ),
    step: z
      .string()
      .regex(/^(\+[1-9]\d{0,2}|x[1-9]\d?(\.\d+)?)$/, { error: "expected a step like '+1' or 'x1.5'", abort: true })
      .refine((s) => s.startsWith('+') || Number(s.slice(1)) > 1, {
        error: "a multiplier must be above 1, like 'x1.5'",
      })
      .default('+1')
      .describe("`'+N'` adds N replicas, `'xF'` multiplies by F (rounded up)."),
    max: z.number().int().min(1).max(1000).default(10).describe('Replicas tripline never asks for more than.'),
    cooldown: DurationSchema.default('10m').describe('Least time between two scalings of one workload.'),
    dry_run: z.boolean().default(false).describe('Ask the API server with `dryRun=All` only, changing nothing.'),
    when_cause: z
      .array(z.enum(SCALE_CAUSES))
      .min(1)
      .default(['limit-bound'])
      .describe(
        'Diagnoses of the bundle that allow scaling: `limit-bound` (the default), `contention`, `self-contention` (a bigger CPU limit or a smaller thread pool is the fix), `lock-contention`, `io-bound`, `syscall-storm`, `memory-pressure` (more replicas rarely help these), `app-bound`, `unknown`; `[any]` always scales.',
      ),
    verify: DurationSchema.default('2m').describe(
      "How long after scaling to re-read the rule's signal for the workload's series and report recovered or not, with the value before and after; `0s` skips it.",
    ),
    restore: z
      .boolean()
      .default(true)
      .describe(
        "Put an HPA's minReplicas back to what it was once every incident that raised or met the raise has resolved and `restore_after` passed, unless someone changed it meanwhile. Replicas raised on a workload without HPA are kept (there the count is the owner's setting, and lowering it could bring the incident back); the thread says so.",
      ),
    restore_after: DurationSchema.default('10m').describe(
      'How long after the last incident on the workload resolved the raised minReplicas is restored.',
    ),
    approval: z
      .enum(['none', 'required'])
      .default('none')
      .describe(
        "`required`: ask in the incident's Slack thread (Approve scale / Reject buttons, Socket Mode) and scale only once an allowed person approves; the approval is named in the scale's note.",
      ),
    approval_timeout: DurationSchema.default('15m').describe(
      'How long a scale waits for approval; then the thread says "not approved, no scale" and nothing is sent.',
    ),
  })
  .transform((a) => ({
    type: a.type,
    target: a.target === 'auto' ? ('auto' as const) : { ...a.target },
    step: a.step,
    max: a.max,
    cooldownMs: parseDuration(a.cooldown),
    dryRun: a.dry_run,
    whenCause: [...a.when_cause],
    verifyMs: parseDuration(a.verify),
    restore: a.restore,
    restoreAfterMs: parseDuration(a.restore_after),
    approval: a.approval,
    approvalTimeoutMs: parseDuration(a.approval_timeout),
  }));

/** A scale action as loaded. */
export type ScaleActionSpec = Readonly<z.output<typeof scaleSpec>>;

/** The scale action in docs/rules.md. */
export const scaleDoc: ActionDoc = {
  summary:
    "Raises the replicas of the incident's workload (or its HPA's minReplicas) when the diagnosis allows it, once per incident across hosts, reports into the Slack thread, re-reads the rule's signal for the workload to verify recovery, and puts a raised HPA minReplicas back after the incident resolved.",
};

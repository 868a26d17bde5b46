/**
 * The scale action's side of approval (see approval.ts): ask on the trip, then act on the `decide` job — scale on
 * `approved` (the text names who approved), report "not scaled" on `rejected` or when the deadline passed.
 */
import type { ActionContext, ActionJob, ActionOutcome, EventDetail } from '../types.ts';
import type { ScaleActionSpec } from './spec.ts';
import { approvalRef, decide, decisionOf, readRequest, requestApproval } from './approval.ts';

type Tell = (detail: EventDetail, seq: string) => Promise<string[]>;

/** Records the request, schedules its deadline and asks in the thread; the scale waits. */
export async function askApproval(
  job: ActionJob<ScaleActionSpec>,
  ctx: ActionContext,
  tell: Tell,
): Promise<ActionOutcome> {
  const req = await requestApproval(ctx.store, job, ctx.now() + job.spec.approvalTimeoutMs);
  await ctx.schedule('decide', req.deadline, undefined, `${job.incident.id}-deadline`);
  const until = new Date(req.deadline).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const text = `Scaling the workload of ${job.incident.key} (step ${job.spec.step}, max ${job.spec.max}) waits for approval until ${until}.`;
  await tell({ kind: 'approval', text, approval: req.ref, approval_state: 'pending' }, 'approval');
  return { status: 'skipped', summary: `waiting for approval until ${until}`, data: { approval: req.ref } };
}

/**
 * A `decide` job: the decision that stands (the deadline decides `expired` once passed); `scale(approvedBy)` runs
 * the scale when approved.
 */
export async function onDecide(
  job: ActionJob<ScaleActionSpec>,
  ctx: ActionContext,
  tell: Tell,
  scale: (approvedBy: string) => Promise<ActionOutcome>,
): Promise<ActionOutcome> {
  const ref = approvalRef(job.incident.key, job.incident.id);
  let d = await decisionOf(ctx.store, ref);
  if (!d) {
    const req = await readRequest(ctx.store, ref);
    if (!req) return { status: 'skipped', summary: `no approval request for ${job.incident.key}` };
    if (ctx.now() < req.deadline) return { status: 'skipped', summary: 'approval not decided yet' };
    d = (await decide(ctx.store, ref, { decision: 'expired', at: ctx.now() })).decision;
  }
  if (d.decision === 'approved') return scale(`${d.byName ?? d.by} (${d.by})`);
  const text =
    d.decision === 'rejected'
      ? `Not scaled: rejected by ${d.byName ?? d.by} (${d.by}).`
      : `Not approved within ${Math.round(job.spec.approvalTimeoutMs / 60_000)} min: no scale.`;
  await tell({ kind: 'scale-skipped', text, approval: ref, approval_state: d.decision }, 'decided');
  return { status: 'skipped', summary: text };
}

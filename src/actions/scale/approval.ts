/**
 * Scale approval: a scale action with `approval: required` does not scale on the trip; it records a request (in
 * the action store: Redis when the queue is, so it outlives a restart), asks in the Slack thread (Approve scale /
 * Reject buttons) and schedules a `decide` job at its deadline. The first decision wins (set-if-absent): a click
 * (approved or rejected, naming the person), or the deadline (expired: "not approved, no scale"). A click enqueues
 * a `decide` job at once; the job scales only on `approved`, and the scale's own claim keeps it to one PATCH.
 */
import { createHash } from 'node:crypto';
import type { ActionJob, ActionJobInput, ActionStore } from '../types.ts';
import { inputFor } from '../job-input.ts';

/** What a decision is. */
export interface ApprovalDecision {
  readonly decision: 'approved' | 'rejected' | 'expired';
  /** Slack user id and handle of who decided (absent: the deadline). */
  readonly by?: string;
  readonly byName?: string;
  readonly at: number;
}

/** A pending request: enough to run the scale once decided. */
export interface ApprovalRequest {
  readonly ref: string;
  readonly incidentKey: string;
  readonly deadline: number;
  /** The scale job to enqueue (as a `decide` event) when a click decides. */
  readonly job: ActionJobInput;
}

/** How long requests and decisions are kept past the deadline. */
const KEEP_MS = 86_400_000;

/** The reference of an incident's approval (button value; 32 hex). */
export function approvalRef(incidentKey: string, incidentId: string): string {
  return createHash('sha256')
    .update(JSON.stringify([incidentKey, incidentId]))
    .digest('hex')
    .slice(0, 32);
}

const requestKey = (ref: string): string => `scale:approval:${ref}`;
const decisionKey = (ref: string): string => `scale:approval:${ref}:decision`;

/** Records the request of `job` (once; a retry keeps the first) and returns it. */
export async function requestApproval(store: ActionStore, job: ActionJob, deadline: number): Promise<ApprovalRequest> {
  const ref = approvalRef(job.incident.key, job.incident.id);
  const input = inputFor(job, 'decide');
  const req: ApprovalRequest = { ref, incidentKey: job.incident.key, deadline, job: input };
  const ttl = Math.max(0, deadline - Date.now()) + KEEP_MS;
  if (await store.setIfAbsent(requestKey(ref), JSON.stringify(req), ttl)) return req;
  return (await readRequest(store, ref)) ?? req;
}

/** The request of `ref`, if one is recorded. */
export async function readRequest(store: ActionStore, ref: string): Promise<ApprovalRequest | undefined> {
  if (!/^[0-9a-f]{32}$/.test(ref)) return undefined;
  const raw = await store.get(requestKey(ref));
  if (!raw) return undefined;
  try {
    const r = JSON.parse(raw) as ApprovalRequest;
    return r && r.ref === ref && typeof r.deadline === 'number' && r.job ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Decides `ref` unless it is decided already; returns the decision that stands and whether this call made it. */
export async function decide(
  store: ActionStore,
  ref: string,
  d: ApprovalDecision,
): Promise<{ won: boolean; decision: ApprovalDecision }> {
  if (await store.setIfAbsent(decisionKey(ref), JSON.stringify(d), KEEP_MS * 2)) return { won: true, decision: d };
  return { won: false, decision: (await decisionOf(store, ref)) ?? d };
}

/** The decision of `ref`, if made. */
export async function decisionOf(store: ActionStore, ref: string): Promise<ApprovalDecision | undefined> {
  const raw = await store.get(decisionKey(ref));
  if (!raw) return undefined;
  try {
    const d = JSON.parse(raw) as ApprovalDecision;
    return d.decision === 'approved' || d.decision === 'rejected' || d.decision === 'expired' ? d : undefined;
  } catch {
    return undefined;
  }
}

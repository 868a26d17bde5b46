/**
 * Job ids: derived, never random, so that a retry, an engine restart and several engines on several hosts that
 * see the same incident key all name the same delivery, and the queue keeps one.
 */
import { createHash } from 'node:crypto';
import type { ActionEvent, ActionJob, ActionJobInput } from './types.ts';

/**
 * What identifies one delivery. `seq` separates repeated events of one kind (each `update`, each `scaled`); the
 * queues prefix it with the trip generation (trips.ts) so a later trip of the same series is a new delivery.
 */
export interface JobIdParts {
  readonly incidentKey: string;
  readonly actionType: string;
  readonly event: ActionEvent;
  readonly index: number;
  readonly seq?: string;
}

/**
 * `<type>-<event>-<32 hex>`: readable prefix for the CLI, SHA-256 of the parts for identity. No `:` (BullMQ
 * keys use it) and never all digits (BullMQ reserves integer ids for its own counter).
 */
export function jobId(p: JobIdParts): string {
  // JSON of an array keeps the parts unambiguous (no separator collisions between key text and seq).
  const h = createHash('sha256')
    .update(JSON.stringify([p.incidentKey, p.actionType, p.event, p.index, p.seq ?? '']))
    .digest('hex');
  return `${p.actionType}-${p.event}-${h.slice(0, 32)}`;
}

/** The stored job for an enqueue input: its derived id and the enqueue time. */
export function toJob(input: ActionJobInput, now: number): ActionJob {
  const id = jobId({
    incidentKey: input.incident.key,
    actionType: input.spec.type,
    event: input.event,
    index: input.index,
    seq: input.seq,
  });
  return { ...input, id, enqueuedAt: input.enqueuedAt ?? now };
}

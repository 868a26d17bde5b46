/**
 * Incident → jobs: one job per action spec of the rule, enqueued with the incident, the bundle reference and
 * the event. The engine and `tripline actions fire` both go through here, so a synthetic incident runs exactly
 * the path a real one does (same queue, same job ids).
 */
import { TriplineError } from '../errors.ts';
import type { Incident } from '../incident.ts';
import type { BundleRef } from '../bundle/types.ts';
import type { Rule } from '../rules/types.ts';
import type { ActionQueue, EnqueueResult } from './queue.ts';
import type { ActionEvent, EventDetail } from './types.ts';

/** Options of one dispatch. */
export interface DispatchOptions {
  /** @defaultValue `resolved` for a resolved incident, `firing` otherwise */
  readonly event?: ActionEvent;
  readonly bundle?: BundleRef;
  readonly detail?: EventDetail;
  /** Separates repeated events of one kind (see ActionJob.seq). */
  readonly seq?: string;
  readonly dryRun?: boolean;
}

/** Enqueues the rule's actions for the incident; returns one result per action, in the rule's order. */
export async function dispatch(
  queue: Pick<ActionQueue, 'enqueue'>,
  rule: Pick<Rule, 'name' | 'actions'> & { readonly hash?: string },
  incident: Incident,
  opts: DispatchOptions = {},
): Promise<EnqueueResult[]> {
  if (incident.rule !== rule.name) {
    throw new TriplineError(
      'ACTION_ERR_CONFIG',
      `incident of rule ${JSON.stringify(incident.rule)} dispatched with rule ${JSON.stringify(rule.name)}`,
      { hint: 'pass the rule that produced the incident' },
    );
  }
  const event = opts.event ?? (incident.status === 'resolved' ? 'resolved' : 'firing');
  const out: EnqueueResult[] = [];
  for (const [index, spec] of rule.actions.entries()) {
    out.push(
      await queue.enqueue({
        event,
        incident,
        bundle: opts.bundle,
        spec,
        index,
        actions: rule.actions,
        ...(rule.hash ? { rule: { name: rule.name, hash: rule.hash } } : {}),
        detail: opts.detail,
        seq: opts.seq,
        dryRun: opts.dryRun,
      }),
    );
  }
  return out;
}

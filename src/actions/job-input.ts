/**
 * The inputs of the jobs a job enqueues for itself or its siblings (follow-ups, deliveries, a decision after
 * approval): the same incident, bundle, rule and actions, built in one place.
 */
import type { ActionEvent, ActionJob, ActionJobInput, EventDetail, ScheduledEvent } from './types.ts';

/**
 * The input of a job carrying `job`'s incident, bundle, rule and actions for `event`: its own action unless `index` and
 * `spec` name a sibling; delivery detail, sequence and timing are the caller's to add.
 */
export function inputFor(
  job: ActionJob,
  event: ScheduledEvent | ActionEvent,
  index = job.index,
  spec = job.spec,
): ActionJobInput {
  return {
    event,
    incident: job.incident,
    bundle: job.bundle,
    spec,
    index,
    actions: job.actions,
    ...(job.rule ? { rule: job.rule } : {}),
    dryRun: job.dryRun,
  };
}

/** The inputs of `event` for every sibling action of `job` (the rule's other actions). */
export function siblingInputs(
  job: ActionJob,
  event: ActionEvent,
  detail?: EventDetail,
  seq?: string,
): ActionJobInput[] {
  return job.actions.flatMap((spec, index) =>
    index === job.index ? [] : [{ ...inputFor(job, event, index, spec), detail, seq }],
  );
}

/** The input of a job `job`'s own action schedules for itself (same spec and index, no delivery detail of its own). */
export function selfInput(
  job: ActionJob,
  event: ScheduledEvent,
  notBefore: number,
  detail?: EventDetail,
  seq?: string,
): ActionJobInput {
  return { ...inputFor(job, event), detail, seq, notBefore };
}

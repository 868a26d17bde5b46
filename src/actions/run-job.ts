/**
 * One attempt of one job, the same for both back ends: find the action module, give it its context, time the
 * delivery, count the failure with its reason, rethrow for the back end to decide (retry, fail, park).
 */
import type { Config } from '../config.ts';
import type { EnqueueResult } from './queue.ts';
import type { QueueOptions } from './queue-options.ts';
import type { PodLookup } from '../kube/pod-lookup.ts';
import type { ActionContext, ActionJob, ActionJobInput, ActionLogger, ActionOutcome, ActionStore } from './types.ts';
import { selfInput, siblingInputs } from './job-input.ts';
import type { SignalReader } from '../signal-read.ts';
import { ACTIONS, type ActionRegistry } from './registry.ts';
import { UnrecoverableError, classify } from './errors.ts';
import { checkStoredJob, type RuleLookup } from './job-schema.ts';
import type { ActionMetrics } from './metrics.ts';

/** What a back end shares with the runner. */
export interface RunnerDeps {
  readonly config: Readonly<Config>;
  readonly env: NodeJS.ProcessEnv;
  readonly log: ActionLogger;
  readonly store: ActionStore;
  readonly registry?: ActionRegistry;
  readonly metrics: ActionMetrics;
  readonly signal: AbortSignal;
  readonly now: () => number;
  readonly enqueue: (input: ActionJobInput) => Promise<EnqueueResult>;
  /** The rules this side was given: each job's spec is rebuilt from its rule version (absent: the job's own). */
  readonly rules?: RuleLookup;
  readonly readSignal?: SignalReader;
  /** This node's pods (ActionContext.pods). */
  readonly pods?: PodLookup;
}

/** The runner's dependencies from a back end's options and its own parts (the same for both back ends). */
export function runnerDeps(
  opts: QueueOptions,
  parts: Pick<RunnerDeps, 'store' | 'signal' | 'now' | 'enqueue'>,
): RunnerDeps {
  return {
    config: opts.config,
    env: opts.env ?? process.env,
    log: opts.log,
    registry: opts.registry,
    metrics: opts.metrics,
    rules: opts.rules,
    readSignal: opts.readSignal,
    pods: opts.pods,
    ...parts,
  };
}

/** Runs attempt number `attempt` (1-based) of `job`. Throws the action's (classified) error. */
export async function runJob(stored: ActionJob, attempt: number, deps: RunnerDeps): Promise<ActionOutcome> {
  // The stored job is data from Redis (or memory): validated, its spec rebuilt from the rules, before anything runs.
  const checked = checkStoredJob(stored, deps.rules);
  if (!('id' in checked)) {
    const type = typeof stored?.spec?.type === 'string' ? stored.spec.type.slice(0, 64) : 'unknown';
    deps.metrics.failed(type, checked.reason);
    deps.log.error(
      { job: String(stored?.id ?? '').slice(0, 256), reason: checked.reason },
      `job refused: ${checked.message}`,
    );
    throw new UnrecoverableError(checked.message, {
      reason: checked.reason,
      hint: 'a job this engine did not make, or made under rules it no longer has: see docs/security.md',
    });
  }
  const job = checked;
  const registry = deps.registry ?? ACTIONS;
  const mod = (
    registry as Record<string, { execute(j: ActionJob, c: ActionContext): Promise<ActionOutcome> } | undefined>
  )[job.spec.type];
  const log = deps.log;
  try {
    if (!mod)
      throw new UnrecoverableError(`no action module for type ${JSON.stringify(job.spec.type)}`, {
        reason: 'unknown_action',
        hint: 'this engine does not know the action: upgrade it or remove the action from the rule',
      });
    const ctx: ActionContext = {
      config: deps.config,
      env: deps.env,
      log,
      store: deps.store,
      attempt,
      signal: deps.signal,
      now: deps.now,
      pods: deps.pods,
      async notify(event, detail, seq) {
        const ids: string[] = [];
        for (const input of siblingInputs(job, event, detail, seq)) ids.push((await deps.enqueue(input)).id);
        return ids;
      },
      async schedule(event, notBefore, detail, seq) {
        return (await deps.enqueue(selfInput(job, event, notBefore, detail, seq))).id;
      },
      ...(deps.readSignal ? { readSignal: deps.readSignal } : {}),
    };
    const outcome = await mod.execute(job, ctx);
    deps.metrics.delivered(job.spec.type, outcome.status, deps.now() - job.enqueuedAt);
    log.debug(
      { job: job.id, action: job.spec.type, event: job.event, attempt, status: outcome.status },
      outcome.summary,
    );
    return outcome;
  } catch (err) {
    const c = classify(err);
    deps.metrics.failed(job.spec.type, c.reason);
    log.warn(
      {
        job: job.id,
        action: job.spec.type,
        event: job.event,
        key: job.incident.key,
        attempt,
        kind: c.kind,
        reason: c.reason,
      },
      `action attempt failed: ${(err as Error)?.message ?? String(err)}`,
    );
    throw err;
  }
}

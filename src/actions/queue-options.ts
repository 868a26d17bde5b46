/** Options shared by both queue back ends, resolved once from the engine config (defaults live in config.ts). */
import { parseDuration, type Config } from '../config.ts';
import type { ActionLogger, ActionStore } from './types.ts';
import type { ActionRegistry } from './registry.ts';
import type { ActionMetrics } from './metrics.ts';
import type { RuleLookup } from './job-schema.ts';
import type { SignalReader } from '../signal-read.ts';
import type { PodLookup } from '../kube/pod-lookup.ts';

/** Resolved queue options. */
export interface QueueOptions {
  readonly config: Readonly<Config>;
  readonly env?: NodeJS.ProcessEnv;
  readonly log: ActionLogger;
  readonly registry: ActionRegistry;
  readonly metrics: ActionMetrics;
  /** Base name; each action type gets the queue `<name>-<type>` (tests use a unique name). @defaultValue actions */
  readonly name: string;
  /** Jobs run at once per action type (Redis) or in all (memory). @defaultValue 4 */
  readonly concurrency: number;
  /** From `actions.attempts`. */
  readonly attempts: number;
  /** From `actions.backoff`, ms. */
  readonly backoffMs: number;
  /** From `actions.dedup_window`, ms. */
  readonly dedupWindowMs: number;
  /** How long a worker's lock on an active job lasts: a killed engine's job is redelivered after it. From `actions.lock_duration`, ms. */
  readonly lockDurationMs: number;
  /** How often workers look for jobs whose engine died. From `actions.lock_duration`, ms. */
  readonly stalledIntervalMs: number;
  /** Jobs held in memory while Redis is unreachable; past it the oldest are dropped (counted). @defaultValue 10000 */
  readonly spillMax: number;
  /** How long `enqueue` waits for Redis before spilling the job. @defaultValue 2000 */
  readonly enqueueTimeoutMs: number;
  /** Completed jobs kept (Redis) for inspection; dedup does not depend on them. 0 removes each at once. @defaultValue 1000 */
  readonly keepCompleted: number;
  readonly now?: () => number;
  /** The rules this side was given: jobs' specs are rebuilt from them (the network side passes its rule book). */
  readonly rules?: RuleLookup;
  /** Re-reads a rule's signal on the probe side, handed to actions as `ctx.readSignal` (the network side passes it). */
  readonly readSignal?: SignalReader;
  /** This node's pods, handed to actions (ActionContext.pods). */
  readonly pods?: PodLookup;
  /** State store for the in-process back end (open-queue.ts picks a FileStore in data_dir when it exists). @defaultValue a MemoryStore */
  readonly store?: ActionStore;
}

/** Overridable parts of QueueOptions (the rest comes from the config). */
export type QueueOverrides = Partial<Omit<QueueOptions, 'config' | 'log' | 'registry' | 'metrics'>>;

/** Resolves options from the config plus overrides. */
export function resolveQueueOptions(
  base: Pick<QueueOptions, 'config' | 'log' | 'registry' | 'metrics'> & QueueOverrides,
): QueueOptions {
  const a = base.config.actions;
  return {
    name: 'actions',
    concurrency: 4,
    attempts: a.attempts,
    backoffMs: parseDuration(a.backoff),
    dedupWindowMs: parseDuration(a.dedup_window),
    lockDurationMs: parseDuration(a.lock_duration),
    stalledIntervalMs: parseDuration(a.lock_duration),
    spillMax: 10_000,
    enqueueTimeoutMs: 2_000,
    keepCompleted: 1000,
    ...Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined)),
  } as QueueOptions;
}

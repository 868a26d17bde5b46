/**
 * The action queue: one interface, two back ends. `queue-bullmq.ts` (Redis; durable, shared by every engine that
 * uses the same Redis and prefix) when `redis.url` is configured, `queue-memory.ts` (in-process; NOT durable:
 * jobs waiting when the process stops are lost) otherwise. `openQueue` (open-queue.ts) picks one.
 *
 * Both give the same semantics: derived job ids deduplicated for `actions.dedup_window`; `actions.attempts`
 * tries with exponential backoff and jitter; UnrecoverableError goes straight to the failed set;
 * RateLimitedError parks the action type's jobs for Retry-After without spending an attempt.
 */
import type { ActionJob, ActionJobInput, ActionStore } from './types.ts';

/** What `enqueue` did. */
export interface EnqueueResult {
  readonly id: string;
  /** The id was already queued or delivered within the dedup window: nothing new was added. */
  readonly duplicate: boolean;
  /** Redis was unreachable: the job waits in the in-memory spill and is added when Redis is back. */
  readonly spilled: boolean;
}

/** A job in the failed set. */
export interface FailedJob {
  readonly id: string;
  readonly type: string;
  readonly event: string;
  readonly incidentKey: string;
  readonly rule: string;
  readonly attempts: number;
  /** The last error's message (already redacted by the action). */
  readonly reason: string;
  readonly failedAt: number;
  readonly test: boolean;
}

/** Job counts of one action type's queue. */
export interface QueueCounts {
  readonly name: string;
  readonly type: string;
  readonly waiting: number;
  readonly delayed: number;
  readonly active: number;
  readonly completed: number;
  readonly failed: number;
}

/** Final result of one job, for listeners (the CLI's `fire`, tests, the engine's log). */
export type JobSettled =
  | {
      readonly id: string;
      readonly job: ActionJob;
      readonly state: 'completed';
      readonly summary: string;
      readonly status: string;
    }
  | { readonly id: string; readonly job: ActionJob; readonly state: 'failed'; readonly reason: string };

/** Where one job is now. `unknown`: never enqueued here, or completed and since removed. */
export interface JobStatus {
  readonly state: 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'unknown';
  /** The outcome's summary (completed) or the last error (failed). */
  readonly text?: string;
}

/** The one queue interface. */
export interface ActionQueue {
  readonly kind: 'redis' | 'memory';
  /** False for the in-process back end. */
  readonly durable: boolean;
  /** Shared state for actions, on the same back end. */
  readonly store: ActionStore;
  /** Adds one job (id derived from the input); never throws for an unreachable Redis (the job is spilled). */
  enqueue(input: ActionJobInput): Promise<EnqueueResult>;
  /** Starts the workers of this process. A queue used only to enqueue or inspect (the CLI) does not call it. */
  start(): Promise<void>;
  /** The failed set, newest first. */
  failed(): Promise<FailedJob[]>;
  /** Moves a failed job back to waiting (attempts reset). Throws ACTION_ERR_CONFIG when no failed job has this id. */
  retry(id: string): Promise<void>;
  /** The state of one job (any engine's, for the Redis back end). */
  status(id: string): Promise<JobStatus>;
  /** Jobs not yet settled (waiting + delayed + active + spilled). */
  depth(): Promise<number>;
  /** Per action type counts. */
  counts(): Promise<QueueCounts[]>;
  /** Calls `fn` when a job of this process's workers completes or lands in the failed set. Returns an unsubscribe. */
  onSettled(fn: (s: JobSettled) => void): () => void;
  /** Flushes the spill (waiting up to `flushTimeoutMs` for Redis), stops the workers after their current job, closes connections. */
  close(flushTimeoutMs?: number): Promise<void>;
}

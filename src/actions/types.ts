/**
 * The action contract: what the queue hands an action module and what it gets back, and what the module says
 * of itself (its spec's schema and its doc row). Slack, scale, webhook and log are each one module implementing
 * `Action`, listed once in `registry.ts`.
 *
 * Job data is stored in clear text in Redis: it carries the incident, references (bundle path, rule's action
 * specs) and non-secret data only. Secrets are read by the action at execution time from the environment or
 * files named in the config/spec, never put in a job.
 */
import type { z } from 'zod';
import type { PodLookup } from '../kube/pod-lookup.ts';
import type { Config } from '../config.ts';
import type { Incident } from '../incident.ts';
import type { BundleRef } from '../bundle/types.ts';
import type { ActionSpec } from '../rules/types.ts';
import type { SignalReader } from '../signal-read.ts';

/**
 * Why a job exists. `firing`: a new trip; `update`: still firing (repeat, more series, bundle ready);
 * `resolved`: the incident ended; `scaled`: the scale action changed replicas (or decided not to, or restored
 * them); `verified`: the verification window after a scale ended (recovered or not); `decide`: a scale waiting for
 * approval was decided (a click) or reached its deadline (scale/approval.ts). `verify` and `restore` are
 * jobs an action schedules for itself (`ActionContext.schedule`): the scale action's check at the end of its
 * verification window, and its restore of an HPA's minReplicas after the incident resolved.
 */
export type ActionEvent = 'firing' | 'update' | 'resolved' | 'scaled' | 'verified' | 'verify' | 'restore' | 'decide';

/** Every event kind, for validation and CLI help. */
export const ACTION_EVENTS: readonly ActionEvent[] = [
  'firing',
  'update',
  'resolved',
  'scaled',
  'verified',
  'verify',
  'restore',
  'decide',
];

/** Events an action schedules for itself (see `ActionContext.schedule`). */
export type ScheduledEvent = 'verify' | 'restore' | 'decide';

/** Non-secret, JSON-safe details of an event (e.g. `{ from: 2, to: 3, workload: "Deployment/ns/web" }`). */
export type EventDetail = Readonly<Record<string, string | number | boolean | null>>;

/** One delivery of one action for one incident event. JSON-serialisable; stored in the queue as is. */
export interface ActionJob<S extends ActionSpec = ActionSpec> {
  /** Stable id (see job-id.ts): same incident key + action type + event + index (+ seq) = same id, on every host. */
  readonly id: string;
  readonly event: ActionEvent;
  readonly incident: Incident;
  /** The capture's bundle, when one was made before the job was enqueued. */
  readonly bundle?: BundleRef;
  /** This job's action spec (`actions[index]`). */
  readonly spec: S;
  /** Position of `spec` in the rule's actions list. */
  readonly index: number;
  /** The rule's whole actions list, so an action can notify its siblings (scale → Slack thread). */
  readonly actions: readonly ActionSpec[];
  /**
   * The rule version the job was made under (ruleActionsHash): where a worker is given the rules, `spec` and
   * `actions` are rebuilt from that version, never taken from the stored job (see job-schema.ts).
   */
  readonly rule?: { readonly name: string; readonly hash: string };
  /** Event details from whoever enqueued it (the scale action, the verifier). */
  readonly detail?: EventDetail;
  /** Distinguishes repeated events of one kind (e.g. each `update`); part of the job id. Empty for one-shot events. */
  readonly seq?: string;
  /** Side-effect free run (`tripline actions fire --dry-run`): scale uses dryRun, Slack writes to the file sink. */
  readonly dryRun?: boolean;
  /** Epoch ms when the job was first enqueued (delivery latency is measured from here). */
  readonly enqueuedAt: number;
  /**
   * Epoch ms before which the job does not run (a scheduled job: a BullMQ delayed job on Redis, a timer in the
   * in-process queue, which keeps such jobs in its store so they survive a restart).
   */
  readonly notBefore?: number;
}

/** What callers hand to `ActionQueue.enqueue`: a job without its derived id and timestamp. */
export type ActionJobInput<S extends ActionSpec = ActionSpec> = Omit<ActionJob<S>, 'id' | 'enqueuedAt'> & {
  readonly enqueuedAt?: number;
};

/** A small structured logger (pino-compatible signature: object first, message second). */
export interface ActionLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * Shared state for actions (Slack thread ts per incident key, scale cooldown per workload). Backed by Redis
 * when the queue is, so several engines see the same state; in memory otherwise. Values are strings; keys are
 * namespaced by the caller (`slack:thread:<key>`), the store adds the configured prefix.
 */
export interface ActionStore {
  get(key: string): Promise<string | undefined>;
  /** Sets a value; `ttlMs` expires it. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Sets only when absent (a cross-host lock or first-writer-wins); true when this call set it. */
  setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean>;
  del(key: string): Promise<void>;
}

/** What the queue passes to an action with each attempt. */
export interface ActionContext {
  readonly config: Readonly<Config>;
  readonly env: NodeJS.ProcessEnv;
  readonly log: ActionLogger;
  readonly store: ActionStore;
  /** 1 for the first try, 2 for the first retry, ... (rate-limited waits do not count). */
  readonly attempt: number;
  /** Aborted when the engine stops; long calls should pass it on. */
  readonly signal: AbortSignal;
  /**
   * Enqueues `event` for the incident's other actions (every spec of `job.actions` except this one's index),
   * e.g. the scale action reporting `scaled` into the Slack thread. Returns the enqueued job ids.
   */
  notify(event: ActionEvent, detail?: EventDetail, seq?: string): Promise<string[]>;
  /**
   * Enqueues `event` for this same action of the incident (same rule, same index), to run at `notBefore` (epoch
   * ms) or later: durable where the queue is (Redis; the in-process queue keeps it in its store). The job id comes
   * from the incident key, the event and `seq`, so two hosts or a retry scheduling the same thing make one job.
   */
  schedule(event: ScheduledEvent, notBefore: number, detail?: EventDetail, seq?: string): Promise<string>;
  /** Re-reads a rule's conditions for some of its series on the probe side; absent when no probe side is reachable. */
  readonly readSignal?: SignalReader;
  /** Clock (epoch ms); tests may pass another. */
  now(): number;
  /** This node's pods (the network side's pod cache), when it runs: the scale action finds pods there first. */
  readonly pods?: PodLookup;
}

/** The result of a delivery, kept as the job's return value (non-secret). */
export interface ActionOutcome {
  /** `delivered`: done; `skipped`: nothing to do for this event (said why); `dry-run`: would have done `summary`. */
  readonly status: 'delivered' | 'skipped' | 'dry-run';
  /** One line for logs and the CLI: "posted to #ops (ts 1712.0001)", "scaled Deployment/web 2→3". */
  readonly summary: string;
  readonly data?: Readonly<Record<string, string | number | boolean | null>>;
}

/** What docs/rules.md says of an action besides its options (whose meanings are its schema's field descriptions). */
export interface ActionDoc {
  /** One or two sentences: what the action does for an incident. */
  readonly summary: string;
}

/**
 * One action module. `execute` throws `RetryableError`, `UnrecoverableError` or `RateLimitedError`
 * (src/actions/errors.ts) to tell the queue what to do; anything else counts as retryable.
 * It must be safe to run twice for the same job (BullMQ is at-least-once): use `job.id` as idempotency key.
 */
export interface Action<S extends ActionSpec = ActionSpec> {
  readonly type: S['type'];
  /**
   * The schema of a rule's `actions[i]` of this type: strict, with its defaults, from the YAML as written
   * (snake_case, durations as text) to `S`. Each option's `.describe()` text says what it means; the rule
   * loader, the JSON Schema and docs/rules.md all read this one schema.
   */
  readonly spec: z.ZodType<S>;
  /** The action's row in docs/rules.md (rendered by doc.ts). */
  readonly doc: ActionDoc;
  /** Checks the spec against the config at start (e.g. a webhook's secret env is set); throws ACTION_ERR_CONFIG. */
  check?(spec: S, config: Readonly<Config>, env: NodeJS.ProcessEnv): void;
  execute(job: ActionJob<S>, ctx: ActionContext): Promise<ActionOutcome>;
}

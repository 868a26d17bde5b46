/**
 * The Redis back end: BullMQ on ioredis. Durable (a killed engine's jobs are redelivered by any engine after the
 * lock expires) and shared (engines on several hosts with the same Redis and prefix deliver each job id once).
 *
 * Idempotency: the derived job id is also the BullMQ deduplication id with TTL `actions.dedup_window`; a jobId
 * alone stops protecting once `removeOnComplete` deletes the finished job. One queue per action type, so a 429
 * from Slack parks Slack jobs only. Redis unreachable at enqueue: the job goes to the spill (spill.ts).
 */
import { Queue, Worker, UnrecoverableError as BullUnrecoverable, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { TriplineError } from '../errors.ts';
import { openRedis } from '../redis-client.ts';
import type { ActionQueue, EnqueueResult, FailedJob, JobSettled, JobStatus, QueueCounts } from './queue.ts';
import type { ActionJob, ActionJobInput, ActionOutcome } from './types.ts';
import type { QueueOptions } from './queue-options.ts';
import { toJob } from './job-id.ts';
import { classify } from './errors.ts';
import { backoffDelay } from './backoff.ts';
import { runJob, runnerDeps, type RunnerDeps } from './run-job.ts';
import { RedisStore } from './store-redis.ts';
import { checkRedis } from './redis-check.ts';
import { Spill } from './spill.ts';
import { TripTracker } from './trips.ts';

/** Name of the custom backoff strategy in job options (see backoff.ts). */
const BACKOFF_TYPE = 'tripline-exp-jitter';
/** Finished jobs are kept at most a day (seconds) for `tripline actions list` and debugging; dedup keys outlive them. */
const KEEP_COMPLETED_AGE_S = 24 * 3600;
/** Failed jobs stay until retried or this old, so an operator finds them after a weekend. */
/** How long `close` waits for running deliveries before forcing the workers shut. */
const CLOSE_GRACE_MS = 10_000;
const KEEP_FAILED = { age: 30 * 24 * 3600, count: 10_000 };

/** BullMQ-backed ActionQueue; create with `BullQueue.open` (checks Redis first). */
export class BullQueue implements ActionQueue {
  readonly kind = 'redis' as const;
  readonly durable = true;
  readonly store: RedisStore;
  private readonly opts: QueueOptions;
  private readonly url: string;
  private readonly producer: Redis;
  private workerConn: Redis | undefined;
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  private readonly listeners = new Set<(s: JobSettled) => void>();
  private readonly abort = new AbortController();
  private readonly spill: Spill;
  private readonly deps: RunnerDeps;
  private readonly trips: TripTracker;

  private constructor(opts: QueueOptions, url: string) {
    this.opts = opts;
    this.url = url;
    // Producer side: fail commands fast while Redis is down so enqueue can spill instead of hanging. It reconnects
    // by itself; its state is reported through enqueue and the spill, so connection errors are not logged here.
    this.producer = openRedis(url, 'commands', undefined, opts.config.redis);
    this.store = new RedisStore(this.producer, opts.config.redis.prefix);
    this.trips = new TripTracker(
      this.store,
      opts.dedupWindowMs,
      opts.enqueueTimeoutMs,
      () => this.producer.status === 'ready',
    );
    const prefix = opts.config.redis.prefix;
    for (const type of Object.keys(opts.registry)) {
      const q = new Queue(`${opts.name}-${type}`, { connection: this.producer, prefix });
      q.on('error', () => undefined);
      this.queues.set(type, q);
    }
    this.deps = runnerDeps(opts, {
      store: this.store,
      signal: this.abort.signal,
      now: opts.now ?? Date.now,
      enqueue: (i) => this.enqueue(i),
    });
    this.spill = new Spill({ max: opts.spillMax, add: (job) => this.add(job), metrics: opts.metrics, log: opts.log });
    this.producer.on('ready', () => this.spill.kick());
    opts.metrics.setCountsSource(() => this.counts());
  }

  /** Connects, checks `maxmemory-policy noeviction` (ACTION_ERR_REDIS otherwise), returns the queue. */
  static async open(opts: QueueOptions, url: string): Promise<BullQueue> {
    const q = new BullQueue(opts, url);
    try {
      await checkRedis(q.producer, url);
    } catch (err) {
      await q.close(0).catch(() => undefined);
      throw err;
    }
    return q;
  }

  private queueFor(type: string): Queue {
    const q = this.queues.get(type);
    if (!q)
      throw new TriplineError('ACTION_ERR_CONFIG', `no action module for type ${JSON.stringify(type)}`, {
        hint: 'add it to src/actions/registry.ts',
      });
    return q;
  }

  /** Adds to Redis (time-boxed); throws when Redis does not answer. */
  private async add(job: ActionJob): Promise<boolean> {
    const q = this.queueFor(job.spec.type);
    const work = (async () => {
      const holder = await q.getDeduplicationJobId(job.id);
      if (holder) return true;
      await q.add(job.event, job, {
        jobId: job.id,
        // A scheduled job (ctx.schedule) is a delayed job: durable in Redis, run by whichever engine is up then.
        ...(job.notBefore !== undefined ? { delay: Math.max(0, job.notBefore - this.deps.now()) } : {}),
        deduplication: { id: job.id, ttl: this.opts.dedupWindowMs },
        attempts: this.opts.attempts,
        backoff: { type: BACKOFF_TYPE, delay: this.opts.backoffMs },
        removeOnComplete:
          this.opts.keepCompleted === 0 ? true : { age: KEEP_COMPLETED_AGE_S, count: this.opts.keepCompleted },
        removeOnFail: KEEP_FAILED,
      });
      return false;
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('redis timeout')), this.opts.enqueueTimeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
      work.catch(() => undefined);
    }
  }

  async enqueue(input: ActionJobInput): Promise<EnqueueResult> {
    const job = toJob(await this.trips.assign(input), this.deps.now());
    this.queueFor(job.spec.type);
    // Keep order: while older jobs wait in the spill, newer ones queue behind them.
    if (this.spill.size === 0) {
      try {
        return { id: job.id, duplicate: await this.add(job), spilled: false };
      } catch (err) {
        this.opts.log.warn(
          { job: job.id, key: job.incident.key, err: (err as Error).message },
          'Redis unreachable: action job held in memory until it is back',
        );
      }
    }
    this.spill.push(job);
    return { id: job.id, duplicate: false, spilled: true };
  }

  async start(): Promise<void> {
    if (this.workers.length > 0) return;
    // Workers' blocking commands must wait out a Redis restart, not fail; worker errors are logged below.
    this.workerConn = openRedis(this.url, 'blocking', undefined, this.opts.config.redis);
    for (const q of this.queues.values()) {
      const worker: Worker = new Worker(q.name, async (job: Job) => this.process(worker, job), {
        connection: this.workerConn,
        prefix: this.opts.config.redis.prefix,
        concurrency: this.opts.concurrency,
        lockDuration: this.opts.lockDurationMs,
        stalledInterval: this.opts.stalledIntervalMs,
        maxStalledCount: 3,
        // A limiter makes every fetch check the queue's rate-limit key in Redis, so a manual `rateLimit()` (a 429's
        // Retry-After) holds for every worker loop; the ceiling itself is far above what one engine delivers.
        limiter: { max: 100_000, duration: 1000 },
        settings: {
          backoffStrategy: (attemptsMade: number, _t?: string, _e?: Error, j?: { opts: { backoff?: unknown } }) =>
            backoffDelay(
              attemptsMade,
              (j?.opts.backoff as { delay?: number } | undefined)?.delay ?? this.opts.backoffMs,
            ),
        },
      });
      worker.on('error', (err) => this.opts.log.warn({ queue: q.name, err: err.message }, 'action worker error'));
      worker.on('completed', (job: Job, result: ActionOutcome) =>
        this.emit({
          id: String(job.id),
          job: job.data as ActionJob,
          state: 'completed',
          summary: result?.summary ?? '',
          status: result?.status ?? '',
        }),
      );
      worker.on('failed', (job: Job | undefined, err: Error) => {
        if (!job) return;
        const final =
          err instanceof BullUnrecoverable ||
          err.name === 'UnrecoverableError' ||
          job.attemptsMade >= (job.opts.attempts ?? 1);
        if (final) this.emit({ id: String(job.id), job: job.data as ActionJob, state: 'failed', reason: err.message });
      });
      this.workers.push(worker);
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
  }

  /** One attempt: run the action, translate its error class into BullMQ's fate for the job. */
  private async process(worker: Worker, job: Job): Promise<ActionOutcome> {
    const data = job.data as ActionJob;
    try {
      return await runJob(data, job.attemptsMade + 1, this.deps);
    } catch (err) {
      const c = classify(err);
      const message = (err as Error)?.message ?? String(err);
      if (c.kind === 'rate-limited') {
        // Park the whole queue of this action type for Retry-After; the job goes back to waiting, attempts untouched.
        await worker.rateLimit(c.retryAfterMs ?? 1000);
        throw Worker.RateLimitError();
      }
      if (c.kind === 'unrecoverable') throw new BullUnrecoverable(message);
      throw new Error(message);
    }
  }

  private emit(s: JobSettled): void {
    for (const f of this.listeners) f(s);
  }

  onSettled(fn: (s: JobSettled) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async failed(): Promise<FailedJob[]> {
    const out: FailedJob[] = [];
    for (const [type, q] of this.queues) {
      for (const j of await q.getFailed(0, 999)) {
        const d = j.data as ActionJob;
        out.push({
          id: String(j.id),
          type,
          event: d.event,
          incidentKey: d.incident.key,
          rule: d.incident.rule,
          attempts: j.attemptsMade,
          reason: j.failedReason ?? '',
          failedAt: j.finishedOn ?? 0,
          test: d.incident.test === true,
        });
      }
    }
    return out.sort((a, b) => b.failedAt - a.failedAt);
  }

  async retry(id: string): Promise<void> {
    for (const q of this.queues.values()) {
      const j = await q.getJob(id);
      if (j && (await j.getState()) === 'failed') {
        await j.retry('failed');
        return;
      }
    }
    throw new TriplineError('ACTION_ERR_CONFIG', `no failed job with id ${JSON.stringify(id)}`, {
      hint: 'list them with `tripline actions failed`',
    });
  }

  async status(id: string): Promise<JobStatus> {
    if (this.spill.has(id)) return { state: 'waiting', text: 'held in memory until Redis is back' };
    for (const q of this.queues.values()) {
      const j = await q.getJob(id);
      if (!j) continue;
      const state = await j.getState();
      if (state === 'completed') return { state, text: (j.returnvalue as ActionOutcome | undefined)?.summary };
      if (state === 'failed') return { state, text: j.failedReason };
      if (state === 'active' || state === 'delayed') return { state };
      return { state: 'waiting' };
    }
    return { state: 'unknown' };
  }

  async counts(): Promise<QueueCounts[]> {
    const out: QueueCounts[] = [];
    for (const [type, q] of this.queues) {
      const c = await q
        .getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed')
        .catch((cause: Error) => {
          throw new TriplineError('ACTION_ERR_REDIS', `cannot read queue ${q.name}: ${cause.message}`, {
            hint: 'is Redis up? jobs enqueued meanwhile are held in memory and added when it is back',
            cause,
          });
        });
      out.push({
        name: q.name,
        type,
        waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
        delayed: c.delayed ?? 0,
        active: c.active ?? 0,
        completed: c.completed ?? 0,
        failed: c.failed ?? 0,
      });
    }
    return out;
  }

  async depth(): Promise<number> {
    const counts = await this.counts();
    return this.spill.size + counts.reduce((n, c) => n + c.waiting + c.delayed + c.active, 0);
  }

  async close(flushTimeoutMs = 5000): Promise<void> {
    const left = await this.spill.drain(flushTimeoutMs);
    if (left > 0)
      this.opts.log.error({ jobs: left }, 'Redis still unreachable at shutdown: action jobs held in memory are lost');
    // Let running deliveries finish (each has its own timeout), then abort anything that still waits on the signal.
    // With Redis down a graceful close never finishes (BullMQ's close is memoised, so it cannot be forced later):
    // force it from the start, and drop the connections if even that hangs, or their timers keep the process alive.
    const force = this.producer.status !== 'ready';
    await Promise.all(
      this.workers.map(async (w) => {
        if ((await within(force ? 2000 : CLOSE_GRACE_MS, w.close(force))) === 'timeout')
          await within(1000, w.disconnect());
      }),
    );
    this.abort.abort();
    await Promise.all(
      [...this.queues.values()].map(async (q) => {
        if ((await within(1000, q.close())) === 'timeout') await within(1000, q.disconnect());
      }),
    );
    this.workerConn?.disconnect();
    this.producer.disconnect();
  }
}

/** Waits for `p` at most `ms`; never rejects. */
async function within(ms: number, p: Promise<unknown>): Promise<'done' | 'timeout'> {
  let t: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    p.then(
      () => 'done' as const,
      () => 'done' as const,
    ),
    new Promise<'timeout'>((res) => {
      t = setTimeout(() => res('timeout'), ms);
    }),
  ]);
  clearTimeout(t);
  return r;
}

/**
 * The in-process back end, used when no Redis is configured. NOT durable: jobs waiting or retrying when the
 * process stops are lost (except scheduled jobs, kept in the store: with the FileStore they run after a restart),
 * and several engines do not share it (each delivers its own). Otherwise the same semantics as the Redis back end:
 * dedup window, attempts with backoff and jitter, failed set, retry, Retry-After parking per action type without
 * spending an attempt, scheduled jobs (`notBefore`).
 */
import { TriplineError } from '../errors.ts';
import type { ActionQueue, EnqueueResult, FailedJob, JobSettled, JobStatus, QueueCounts } from './queue.ts';
import type { ActionJob, ActionJobInput, ActionStore } from './types.ts';
import { toJob } from './job-id.ts';
import { classify } from './errors.ts';
import { backoffDelay } from './backoff.ts';
import { runJob, runnerDeps, type RunnerDeps } from './run-job.ts';
import { MemoryStore } from './store-memory.ts';
import { TripTracker } from './trips.ts';
import type { QueueOptions } from './queue-options.ts';

/** Completed jobs whose summary `status` still reports. */
const RESULTS_KEPT = 1000;
/**
 * Store key of the scheduled jobs (ctx.schedule) not yet settled: with a persistent store (the FileStore of
 * `persistState`) they survive a restart and run once after it, as a BullMQ delayed job does on Redis.
 */
const SCHEDULED_KEY = 'queue:scheduled';
/** Scheduled jobs kept at most (oldest due first dropped); and how long past its due time one is still run. */
const SCHEDULED_MAX = 1000;
const SCHEDULED_STALE_MS = 7 * 24 * 3600_000;

type State = 'waiting' | 'delayed' | 'active' | 'failed';
interface Entry {
  job: ActionJob;
  state: State;
  attemptsMade: number;
  runAt: number;
  reason: string;
  failedAt: number;
}

/** In-memory ActionQueue (see file comment). */
export class MemoryQueue implements ActionQueue {
  readonly kind = 'memory' as const;
  readonly durable = false;
  readonly store: ActionStore;
  private readonly entries = new Map<string, Entry>();
  /** Delivered ids → end of their dedup window. */
  private readonly done = new Map<string, number>();
  /** Summaries of recently completed jobs, for `status` (bounded: oldest forgotten first). */
  private readonly results = new Map<string, string>();
  private readonly parkedUntil = new Map<string, number>();
  private readonly listeners = new Set<(s: JobSettled) => void>();
  private readonly abort = new AbortController();
  private readonly deps: RunnerDeps;
  private readonly trips: TripTracker;
  private readonly opts: QueueOptions;
  private running = false;
  private active = 0;
  private timer: NodeJS.Timeout | undefined;
  private idle: Array<() => void> = [];
  /** Scheduled jobs not settled yet, as kept in the store (written one change after another). */
  private readonly scheduled = new Map<string, ActionJob>();
  private scheduledWrites: Promise<void> = Promise.resolve();

  constructor(opts: QueueOptions) {
    this.opts = opts;
    const now = opts.now ?? Date.now;
    this.store = opts.store ?? new MemoryStore(now);
    this.trips = new TripTracker(this.store, opts.dedupWindowMs);
    this.deps = runnerDeps(opts, {
      store: this.store,
      signal: this.abort.signal,
      now,
      enqueue: (i) => this.enqueue(i),
    });
    opts.metrics.setCountsSource(() => this.counts());
  }

  private now(): number {
    return this.deps.now();
  }

  async enqueue(input: ActionJobInput): Promise<EnqueueResult> {
    const job = toJob(await this.trips.assign(input), this.now());
    const doneUntil = this.done.get(job.id);
    if (this.entries.has(job.id) || (doneUntil !== undefined && doneUntil > this.now()))
      return { id: job.id, duplicate: true, spilled: false };
    this.add(job);
    if (job.notBefore !== undefined) {
      this.scheduled.set(job.id, job);
      await this.saveScheduled();
    }
    this.pump();
    return { id: job.id, duplicate: false, spilled: false };
  }

  private add(job: ActionJob): void {
    const runAt = job.notBefore ?? 0;
    const state = runAt > this.now() ? 'delayed' : 'waiting';
    this.entries.set(job.id, { job, state, attemptsMade: 0, runAt, reason: '', failedAt: 0 });
  }

  async start(): Promise<void> {
    await this.loadScheduled();
    this.running = true;
    this.pump();
  }

  /** Takes back the scheduled jobs a previous run left in the store (each runs when due, once). */
  private async loadScheduled(): Promise<void> {
    let list: unknown;
    try {
      list = JSON.parse((await this.store.get(SCHEDULED_KEY)) ?? '[]');
    } catch {
      list = [];
    }
    if (!Array.isArray(list)) return;
    const now = this.now();
    for (const raw of list.slice(0, SCHEDULED_MAX)) {
      // Anything else is refused again by runJob's validation when it runs; this only needs an id and a due time.
      const job = raw as ActionJob;
      if (typeof job?.id !== 'string' || typeof job.notBefore !== 'number') continue;
      if (job.notBefore < now - SCHEDULED_STALE_MS || this.entries.has(job.id)) continue;
      this.scheduled.set(job.id, job);
      this.add(job);
    }
  }

  /** Writes the scheduled jobs to the store (bounded), one write after another. */
  private saveScheduled(): Promise<void> {
    const jobs = [...this.scheduled.values()].sort((a, b) => (a.notBefore ?? 0) - (b.notBefore ?? 0));
    for (const j of jobs.slice(SCHEDULED_MAX)) this.scheduled.delete(j.id);
    const text = JSON.stringify(jobs.slice(0, SCHEDULED_MAX));
    const next = this.scheduledWrites.then(() => this.store.set(SCHEDULED_KEY, text));
    this.scheduledWrites = next.catch(() => undefined);
    return next;
  }

  /** A scheduled job settled: it leaves the store. */
  private settledScheduled(id: string): void {
    if (this.scheduled.delete(id)) void this.saveScheduled().catch(() => undefined);
  }

  /** Starts due jobs up to the concurrency limit and arms a timer for the next due one. */
  private pump(): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    const now = this.now();
    let next = Infinity;
    for (const e of this.entries.values()) {
      if (this.active >= this.opts.concurrency) break;
      if (e.state !== 'waiting' && e.state !== 'delayed') continue;
      const due = Math.max(e.runAt, this.parkedUntil.get(e.job.spec.type) ?? 0);
      if (due > now) {
        next = Math.min(next, due);
        continue;
      }
      void this.run(e);
    }
    if (next < Infinity) {
      this.timer = setTimeout(() => this.pump(), next - now);
      this.timer.unref?.();
    }
    if (this.active === 0 && this.busy() === 0) {
      for (const f of this.idle.splice(0)) f();
    }
  }

  /** Jobs to run now or on a retry (not those scheduled for later). */
  private busy(): number {
    const now = this.now();
    let n = 0;
    for (const e of this.entries.values())
      if (e.state !== 'failed' && !(e.job.notBefore !== undefined && e.attemptsMade === 0 && e.runAt > now)) n++;
    return n;
  }

  private pending(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.state !== 'failed') n++;
    return n;
  }

  private async run(e: Entry): Promise<void> {
    e.state = 'active';
    this.active++;
    try {
      const outcome = await runJob(e.job, e.attemptsMade + 1, this.deps);
      this.entries.delete(e.job.id);
      this.done.set(e.job.id, this.now() + this.opts.dedupWindowMs);
      this.results.set(e.job.id, outcome.summary);
      if (this.results.size > RESULTS_KEPT) this.results.delete(this.results.keys().next().value!);
      this.settledScheduled(e.job.id);
      this.emit({ id: e.job.id, job: e.job, state: 'completed', summary: outcome.summary, status: outcome.status });
    } catch (err) {
      const c = classify(err);
      const message = (err as Error)?.message ?? String(err);
      if (c.kind === 'rate-limited') {
        this.parkedUntil.set(e.job.spec.type, this.now() + (c.retryAfterMs ?? 1000));
        e.state = 'waiting';
      } else {
        e.attemptsMade++;
        if (c.kind === 'unrecoverable' || e.attemptsMade >= this.opts.attempts) {
          Object.assign(e, { state: 'failed', reason: message, failedAt: this.now() });
          this.settledScheduled(e.job.id);
          this.emit({ id: e.job.id, job: e.job, state: 'failed', reason: message });
        } else {
          Object.assign(e, { state: 'delayed', runAt: this.now() + backoffDelay(e.attemptsMade, this.opts.backoffMs) });
        }
      }
    } finally {
      this.active--;
      this.pump();
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
    return [...this.entries.values()]
      .filter((e) => e.state === 'failed')
      .sort((a, b) => b.failedAt - a.failedAt)
      .map((e) => ({
        id: e.job.id,
        type: e.job.spec.type,
        event: e.job.event,
        incidentKey: e.job.incident.key,
        rule: e.job.incident.rule,
        attempts: e.attemptsMade,
        reason: e.reason,
        failedAt: e.failedAt,
        test: e.job.incident.test === true,
      }));
  }

  async retry(id: string): Promise<void> {
    const e = this.entries.get(id);
    if (!e || e.state !== 'failed')
      throw new TriplineError('ACTION_ERR_CONFIG', `no failed job with id ${JSON.stringify(id)}`, {
        hint: 'list them with `tripline actions failed`',
      });
    Object.assign(e, { state: 'waiting', attemptsMade: 0, runAt: 0, reason: '', failedAt: 0 });
    this.pump();
  }

  async status(id: string): Promise<JobStatus> {
    const e = this.entries.get(id);
    if (e) return { state: e.state, text: e.reason || undefined };
    const summary = this.results.get(id);
    return summary === undefined ? { state: 'unknown' } : { state: 'completed', text: summary };
  }

  async depth(): Promise<number> {
    return this.pending();
  }

  async counts(): Promise<QueueCounts[]> {
    const by = new Map<string, { waiting: number; delayed: number; active: number; failed: number }>();
    for (const t of Object.keys(this.opts.registry ?? {})) by.set(t, { waiting: 0, delayed: 0, active: 0, failed: 0 });
    for (const e of this.entries.values()) {
      const c = by.get(e.job.spec.type) ?? { waiting: 0, delayed: 0, active: 0, failed: 0 };
      c[e.state]++;
      by.set(e.job.spec.type, c);
    }
    return [...by].map(([type, c]) => ({ name: `${this.opts.name}-${type}`, type, completed: 0, ...c }));
  }

  /**
   * Resolves when nothing is waiting, retrying or active (failed jobs and jobs scheduled for later, e.g. a scale
   * verification minutes away, do not count); for the CLI and tests.
   */
  async whenIdle(): Promise<void> {
    if (this.active === 0 && this.busy() === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  async close(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.abort.abort();
    while (this.active > 0) await new Promise((r) => setTimeout(r, 10));
    await this.scheduledWrites;
  }
}

/**
 * The spill: jobs that could not reach Redis wait here, in order, and are added when Redis is back. Bounded:
 * past `max` the oldest is dropped and counted (an outage that long loses the oldest, not the newest, trips).
 * Adding a spilled job twice is harmless: the derived job id and the dedup key keep one.
 */
import type { ActionJob, ActionLogger } from './types.ts';
import type { ActionMetrics } from './metrics.ts';

/** A bounded FIFO with a background flusher. */
export class Spill {
  private readonly items: ActionJob[] = [];
  private readonly max: number;
  private readonly add: (job: ActionJob) => Promise<unknown>;
  private readonly metrics: ActionMetrics;
  private readonly log: ActionLogger;
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Delay between flush tries while Redis stays unreachable. */
  private readonly retryMs: number;

  constructor(opts: {
    max: number;
    add: (job: ActionJob) => Promise<unknown>;
    metrics: ActionMetrics;
    log: ActionLogger;
    retryMs?: number;
  }) {
    this.max = opts.max;
    this.add = opts.add;
    this.metrics = opts.metrics;
    this.log = opts.log;
    this.retryMs = opts.retryMs ?? 500;
  }

  get size(): number {
    return this.items.length;
  }

  /** True when a job with this id is held. */
  has(id: string): boolean {
    return this.items.some((j) => j.id === id);
  }

  /** Holds a job and starts flushing in the background. */
  push(job: ActionJob): void {
    this.items.push(job);
    if (this.items.length > this.max) {
      const lost = this.items.shift()!;
      this.metrics.spillDrop();
      this.log.error(
        { job: lost.id, key: lost.incident.key, max: this.max },
        'action spill full while Redis is unreachable: dropped the oldest job',
      );
    }
    this.metrics.spilled(this.items.length);
    this.kick();
  }

  /** Starts a flush unless one runs. */
  kick(): void {
    if (this.stopped || this.flushing || this.items.length === 0) return;
    clearTimeout(this.timer);
    this.flushing = this.flushOnce().finally(() => {
      this.flushing = undefined;
      if (this.items.length > 0 && !this.stopped) {
        this.timer = setTimeout(() => this.kick(), this.retryMs);
        this.timer.unref?.();
      }
    });
  }

  private async flushOnce(): Promise<void> {
    while (this.items.length > 0) {
      try {
        await this.add(this.items[0]);
      } catch {
        return;
      }
      this.items.shift();
      this.metrics.spillSizeNow(this.items.length);
    }
    this.log.info({}, 'action spill flushed to Redis');
  }

  /** Tries to empty the spill for up to `timeoutMs`; returns how many jobs are still held (lost at exit). */
  async drain(timeoutMs: number): Promise<number> {
    const until = Date.now() + timeoutMs;
    while (this.items.length > 0 && Date.now() < until) {
      this.kick();
      await (this.flushing ?? new Promise((r) => setTimeout(r, 50)));
      if (this.items.length > 0)
        await new Promise((r) => setTimeout(r, Math.min(this.retryMs, Math.max(0, until - Date.now()))));
    }
    this.stopped = true;
    clearTimeout(this.timer);
    return this.items.length;
  }
}

/**
 * Queue metrics on a prom-client Registry passed in (never the global one): depth per action type (computed at
 * scrape time), enqueue-to-delivery latency, failures by action and reason, and the Redis-down spill.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { QueueCounts } from './queue.ts';

/** Delivery latency buckets (seconds): from an in-process log line to a webhook parked by Retry-After. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

/** The queue's instruments. One instance per queue; `registry` may be undefined (no metrics). */
export class ActionMetrics {
  private readonly latency?: Histogram<'action' | 'outcome'>;
  private readonly failures?: Counter<'action' | 'reason'>;
  private readonly spilledTotal?: Counter;
  private readonly spillDropped?: Counter;
  private spillSize = 0;
  private countsSource?: () => Promise<QueueCounts[]>;

  constructor(registry?: Registry, prefix = 'tripline_') {
    if (!registry) return;
    const self = this;
    new Gauge({
      name: `${prefix}action_queue_depth`,
      help: 'Action jobs not yet settled, by action type and state (waiting, delayed, active, failed).',
      labelNames: ['action', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        const counts = await self.countsSource?.().catch(() => undefined);
        for (const c of counts ?? []) {
          for (const state of ['waiting', 'delayed', 'active', 'failed'] as const)
            this.set({ action: c.type, state }, c[state]);
        }
      },
    });
    new Gauge({
      name: `${prefix}action_spill_jobs`,
      help: 'Jobs held in memory because Redis was unreachable; added to Redis when it is back.',
      registers: [registry],
      collect() {
        this.set(self.spillSize);
      },
    });
    this.latency = new Histogram({
      name: `${prefix}action_delivery_seconds`,
      help: 'Time from enqueue to the end of a successful delivery.',
      labelNames: ['action', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.failures = new Counter({
      name: `${prefix}action_failures_total`,
      help: 'Failed delivery attempts by action and reason (http_503, timeout, rate_limited, ...).',
      labelNames: ['action', 'reason'],
      registers: [registry],
    });
    this.spilledTotal = new Counter({
      name: `${prefix}action_spilled_total`,
      help: 'Jobs that went to the in-memory spill because Redis was unreachable.',
      registers: [registry],
    });
    this.spillDropped = new Counter({
      name: `${prefix}action_spill_dropped_total`,
      help: 'Jobs dropped because the spill was full (Redis unreachable too long).',
      registers: [registry],
    });
  }

  /** Where the depth gauge reads its counts at scrape time. */
  setCountsSource(fn: () => Promise<QueueCounts[]>): void {
    this.countsSource = fn;
  }

  delivered(action: string, outcome: string, latencyMs: number): void {
    this.latency?.observe({ action, outcome }, latencyMs / 1000);
  }

  failed(action: string, reason: string): void {
    this.failures?.inc({ action, reason });
  }

  spilled(size: number): void {
    this.spillSize = size;
    this.spilledTotal?.inc();
  }

  spillDrop(): void {
    this.spillDropped?.inc();
  }

  spillSizeNow(size: number): void {
    this.spillSize = size;
  }
}

/** Picks the queue back end from the config: BullMQ when `redis.url` (or REDIS_URL) is set, in-process otherwise. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { ActionQueue } from './queue.ts';
import type { ActionLogger } from './types.ts';
import { ACTIONS, checkRegistry, type ActionRegistry } from './registry.ts';
import { ActionMetrics } from './metrics.ts';
import { resolveQueueOptions, type QueueOverrides } from './queue-options.ts';
import { MemoryQueue } from './queue-memory.ts';
import { FileStore } from './store-file.ts';

/** What `openQueue` needs; `metricsRegistry` receives the queue metrics (none when omitted). */
export interface OpenQueueOptions extends QueueOverrides {
  readonly config: Readonly<Config>;
  readonly log: ActionLogger;
  readonly registry?: ActionRegistry;
  readonly metricsRegistry?: Registry;
  /**
   * In-process back end only: keep action state (Slack threads, scale claims) in `<data_dir>/action-store.json`
   * so it survives a restart. The engine and the CLI set it; tests leave it off so they never share a file.
   * @defaultValue false
   */
  readonly persistState?: boolean;
}

/** Opens the configured back end (Redis checked first: ACTION_ERR_REDIS when unreachable or evicting). */
export async function openQueue(o: OpenQueueOptions): Promise<ActionQueue> {
  const registry = o.registry ?? ACTIONS;
  checkRegistry(registry);
  const { metricsRegistry, persistState: _persist, ...rest } = o;
  const opts = resolveQueueOptions({
    ...rest,
    registry,
    metrics: new ActionMetrics(metricsRegistry, o.config.metrics.prefix),
  });
  if (!o.config.redis.url) {
    o.log.info(
      { queue: 'memory' },
      'actions use the in-process queue (not durable): set redis.url or REDIS_URL for a durable queue',
    );
    // Slack threads and scale cooldowns survive an engine restart when there is a data_dir to keep them in.
    const store =
      opts.store ??
      (o.persistState && existsSync(o.config.data_dir)
        ? new FileStore(join(o.config.data_dir, 'action-store.json'))
        : undefined);
    return new MemoryQueue({ ...opts, store });
  }
  // BullMQ is loaded only when used, so an engine without Redis does not pay for it.
  const { BullQueue } = await import('./queue-bullmq.ts');
  return BullQueue.open(opts, o.config.redis.url);
}

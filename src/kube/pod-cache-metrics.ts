/** The pod cache on /metrics (the network side's registry): pods known, sync, failures, dropped objects by reason. */
import { collected, type CollectedMetric } from '../metrics/health-metrics.ts';
import type { PodCache } from './pod-cache.ts';

/** Metrics of `cache`, read at scrape time. */
export function podCacheMetrics(prefix: string, cache: PodCache): CollectedMetric[] {
  const p = `${prefix}pod_cache_`;
  return [
    collected(`${p}pods`, 'gauge', "Pods of this node in the network side's pod cache.", () => [
      { value: cache.snapshot().pods.length, labels: {} },
    ]),
    collected(
      `${p}synced`,
      'gauge',
      'Whether the pod cache has listed the pods of this node (1) or not yet (0).',
      () => [{ value: cache.synced ? 1 : 0, labels: {} }],
    ),
    collected(
      `${p}failures_total`,
      'counter',
      'Failed lists or watches of the pod cache (each retried with backoff).',
      () => [{ value: cache.failures, labels: {} }],
    ),
    collected(
      `${p}dropped_total`,
      'counter',
      'Pod objects the pod cache dropped: out of shape (reason bad_*, no_metadata) or past the pods-per-node bound (over_limit).',
      () => Object.entries(cache.dropped).map(([reason, value]) => ({ value, labels: { reason } })),
    ),
  ];
}

/**
 * /metrics: the signal catalog and the engine's health in a dedicated prom-client Registry (never the global one).
 * Every value is computed at scrape time from the sampler; per-cgroup series are capped at `metrics.top_cgroups`
 * per signal, the rest folded into cgroup="other".
 */
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { Sampler } from '../sampler/sampler.ts';
import { allSignals } from '../signals.ts';
import { SignalMetric } from './signal-metric.ts';
import { healthMetrics } from './health-metrics.ts';
import { processMetrics } from './process-metrics.ts';

/** Gauges that take their top-N cgroups from a counter, so a cgroup's limit is shown beside its usage. */
const FOLLOWS: Readonly<Record<string, string>> = { cpu_quota_cores: 'cpu_usage_seconds' };

export interface Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** The exposition text now; records its own duration (exported at the next scrape). */
  scrape(): Promise<string>;
}

/** Builds the registry over a sampler. `signals` limits the exported signals (default: the whole catalog). */
export function createMetrics(opts: {
  sampler: Pick<Sampler, 'series' | 'health'>;
  config: Readonly<Config>;
  signals?: readonly string[];
  /** The `side` label of this process's own cost metrics (probe when split). @defaultValue engine */
  side?: string;
}): Metrics {
  const { prefix, top_cgroups: topN } = opts.config.metrics;
  const registry = new Registry();
  const bySignal = new Map<string, SignalMetric>();
  const specs = allSignals().filter((s) => !opts.signals || opts.signals.includes(s.name));
  // Leaders first: prom-client collects in registration order, so a follower sees this scrape's members.
  specs.sort((a, b) => Number(a.name in FOLLOWS) - Number(b.name in FOLLOWS));
  for (const spec of specs) {
    const leader = FOLLOWS[spec.name];
    const follows = leader ? () => bySignal.get(leader)?.members : undefined;
    const m = new SignalMetric(spec, opts.sampler, { prefix, topN, follows });
    bySignal.set(spec.name, m);
    registry.registerMetric(m as never);
  }
  let lastScrape = 0;
  for (const m of healthMetrics(
    prefix,
    () => opts.sampler.health(),
    () => lastScrape,
  ))
    registry.registerMetric(m as never);
  for (const m of processMetrics(prefix, opts.side ?? 'engine')) registry.registerMetric(m as never);
  return {
    registry,
    contentType: registry.contentType,
    async scrape() {
      const t0 = performance.now();
      const text = await registry.metrics();
      lastScrape = (performance.now() - t0) / 1000;
      return text;
    },
  };
}

/**
 * The engine's own health on /metrics, read from the sampler at scrape time: ticks and their duration, per-family
 * read time, errors, programs attached, events dropped, series, families unavailable (with the reason as a label).
 */
import type { SamplerHealth } from '../sampler/sampler.ts';
import { TICK_BOUNDS } from '../sampler/sampler.ts';
import type { MetricValue } from './signal-metric.ts';

/** A prom-client metric whose values come from a function at scrape time. */
export interface CollectedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: MetricValue[] }>;
}

/** Wraps a value function as a metric prom-client's Registry can register. */
export function collected(
  name: string,
  type: CollectedMetric['type'],
  help: string,
  values: () => MetricValue[],
): CollectedMetric {
  return {
    name,
    help,
    type,
    aggregator: 'sum',
    async get() {
      return { name, help, type, aggregator: 'sum', values: values() };
    },
  };
}

/** Health metrics over a health snapshot function; `scrapeSeconds` is the duration of the previous scrape. */
export function healthMetrics(
  prefix: string,
  health: () => SamplerHealth,
  scrapeSeconds: () => number,
): CollectedMetric[] {
  const p = `${prefix}engine_`;
  const perFamily =
    (f: (fh: SamplerHealth['families'][number]) => number | undefined): (() => MetricValue[]) =>
    () =>
      health().families.flatMap((fh) => {
        const v = f(fh);
        return v === undefined ? [] : [{ value: v, labels: { family: fh.name } }];
      });
  return [
    collected(`${p}ticks_total`, 'counter', 'Sampler ticks completed.', () => [{ value: health().ticks, labels: {} }]),
    collected(
      `${p}tick_duration_seconds`,
      'histogram',
      'Time one sampler tick took (all families read, samples published).',
      () => {
        const h = health();
        const out: MetricValue[] = [];
        let cum = 0;
        TICK_BOUNDS.forEach((b, i) => {
          cum += h.tickBuckets[i];
          out.push({
            metricName: `${p}tick_duration_seconds_bucket`,
            value: cum,
            labels: { le: Number.isFinite(b) ? String(b) : '+Inf' },
          });
        });
        out.push({ metricName: `${p}tick_duration_seconds_sum`, value: h.tickSecondsTotal, labels: {} });
        out.push({ metricName: `${p}tick_duration_seconds_count`, value: h.ticks, labels: {} });
        return out;
      },
    ),
    collected(
      `${p}family_read_seconds_total`,
      'counter',
      'Time spent reading each counter family (maps or files).',
      perFamily((f) => f.readSecondsTotal),
    ),
    collected(
      `${p}family_read_last_seconds`,
      'gauge',
      'Duration of the latest read of each counter family.',
      perFamily((f) => f.lastReadSeconds),
    ),
    collected(
      `${p}family_read_errors_total`,
      'counter',
      'Reads of a counter family that failed (its series were kept).',
      perFamily((f) => f.errors),
    ),
    collected(
      `${p}family_series`,
      'gauge',
      'Series a counter family reported at its latest read.',
      perFamily((f) => f.series),
    ),
    collected(
      `${p}programs_attached`,
      'gauge',
      'BPF programs attached per counter family.',
      perFamily((f) => f.stats.programs),
    ),
    collected(
      `${p}events_dropped_total`,
      'counter',
      'Events or cgroups a family could not record (full maps, ring buffer drops, caps).',
      perFamily((f) => f.stats.dropped),
    ),
    collected(
      `${p}bpf_run_seconds_total`,
      'counter',
      "In-kernel run time of a family's programs (needs kernel.bpf_stats_enabled=1).",
      perFamily((f) => (f.stats.runTimeNs === undefined ? undefined : f.stats.runTimeNs / 1e9)),
    ),
    collected(
      `${p}family_unavailable`,
      'gauge',
      'Counter families that could not start here (1), with the reason.',
      () => health().unavailable.map((u) => ({ value: 1, labels: { family: u.family, reason: u.reason } })),
    ),
    collected(
      `${p}history_cgroups`,
      'gauge',
      'Cgroups with a rolling per-tick history (for before/after comparisons).',
      () => [{ value: health().historyCgroups, labels: {} }],
    ),
    collected(
      `${p}history_dropped_total`,
      'counter',
      'History values not kept because the cgroup or key cap was reached.',
      () => [{ value: health().historyDropped, labels: {} }],
    ),
    collected(`${p}subscriber_errors_total`, 'counter', 'Tick subscribers that threw.', () => [
      { value: health().subscriberErrors, labels: {} },
    ]),
    collected(`${p}scrape_duration_seconds`, 'gauge', 'Time the previous /metrics scrape took to compute.', () => [
      { value: scrapeSeconds(), labels: {} },
    ]),
  ];
}

/**
 * One catalog signal as a Prometheus metric: values computed in `get()` at scrape time from the sampler's cumulative
 * state. Per-cgroup series beyond the top N (by recent activity) are summed into cgroup="other", which accumulates
 * their increases since the previous scrape, so it stays monotonic while cgroups come, go and change rank.
 */
import { CGROUP_LABELS, type SignalSpec } from '../signals.ts';
import type { SeriesState } from '../sampler/deltas.ts';
import { FoldPlans, foldCounts } from './fold-buckets.ts';
import { decayScore, selectTop } from './top-n.ts';

/** prom-client's view of one exported line. */
export interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  /** Labels common to several lines; prom-client formats them once per object identity, so pass stable objects. */
  sharedLabels?: Record<string, string>;
  metricName?: string;
}

const NO_LABELS: Record<string, string> = Object.freeze({}) as Record<string, string>;
/** One `{ le }` object per bound, shared by every series and scrape. */
const leLabels = new Map<number, Record<string, string>>();
const leOf = (b: number): Record<string, string> => {
  let l = leLabels.get(b);
  if (!l)
    leLabels.set(b, (l = Object.freeze({ le: Number.isFinite(b) ? String(b) : '+Inf' }) as Record<string, string>));
  return l;
};
/** The "other" labels and key of a series' labels, cached per (stable, frozen) labels object. */
const otherOf = new WeakMap<object, { key: string; labels: Record<string, string> }>();

/** What a SignalMetric reads: the sampler's series of one signal. */
export interface SeriesSource {
  series(signal: string): Iterable<SeriesState>;
}

/** Labels of a cgroup: folded away (set to '', `cgroup` to "other") on series past the top N. */
const CGROUP_KEYS: ReadonlySet<string> = new Set(CGROUP_LABELS);

interface Seen {
  total: number;
  counts?: number[];
  sum?: number;
}
interface Other {
  labels: Record<string, string>;
  total: number;
  counts?: number[];
  sum: number;
  bounds?: readonly number[];
}

/** Prometheus name of a signal: prefix + name, `_total` for counters. */
export function metricName(prefix: string, spec: SignalSpec): string {
  return `${prefix}${spec.name}${spec.kind === 'counter' ? '_total' : ''}`;
}

export class SignalMetric {
  readonly name: string;
  private readonly bucketName: string;
  private readonly sumName: string;
  private readonly countName: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator = 'sum' as const;
  /** Cgroup ids exported individually since the last scrape. */
  members = new Set<string>();
  private readonly spec: SignalSpec;
  private readonly source: SeriesSource;
  private readonly topN: number;
  private readonly follows?: () => ReadonlySet<string> | undefined;
  private readonly plans: FoldPlans;
  private seen = new Map<SeriesState, Seen>();
  private scores = new Map<string, number>();
  private readonly others = new Map<string, Other>();

  /** `follows`: take the member set of another metric (a gauge like cpu_quota_cores follows cpu_usage_seconds). */
  constructor(
    spec: SignalSpec,
    source: SeriesSource,
    opts: { prefix: string; topN: number; follows?: () => ReadonlySet<string> | undefined },
  ) {
    this.spec = spec;
    this.source = source;
    this.topN = opts.topN;
    this.follows = opts.follows;
    this.name = metricName(opts.prefix, spec);
    this.bucketName = `${this.name}_bucket`;
    this.sumName = `${this.name}_sum`;
    this.countName = `${this.name}_count`;
    this.help = spec.help;
    this.type = spec.kind;
    this.plans = new FoldPlans(spec.name);
  }

  /** prom-client entry point. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: MetricValue[] }> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.collect() };
  }

  /** Computes every exported line now. */
  collect(): MetricValue[] {
    const kind = this.spec.kind;
    const cur = new Map<SeriesState, Seen>();
    const activity = new Map<string, number>();
    const all: SeriesState[] = [];
    for (const s of this.source.series(this.spec.name)) {
      all.push(s);
      const now: Seen =
        s.kind === 'counter' ? { total: s.total } : s.kind === 'gauge' ? { total: s.value } : this.foldState(s);
      cur.set(s, now);
      if (!s.cgroupId) continue;
      const before = this.seen.get(s);
      const inc = kind === 'gauge' ? Math.abs(now.total) : before ? Math.max(0, now.total - before.total) : 0;
      activity.set(s.cgroupId, (activity.get(s.cgroupId) ?? 0) + inc);
    }
    const scores = new Map<string, number>();
    for (const [id, inc] of activity) scores.set(id, kind === 'gauge' ? inc : decayScore(this.scores.get(id), inc));
    this.scores = scores;
    const led = this.follows?.();
    // A follower whose leader has no members (e.g. no usage counter on this host) ranks by its own values.
    this.members = led && led.size > 0 ? new Set(led) : selectTop(this.members, scores, this.topN);

    const out: MetricValue[] = [];
    const gaugeOthers = new Map<string, Other>();
    for (const s of all) {
      const now = cur.get(s)!;
      if (!s.cgroupId || this.members.has(s.cgroupId)) {
        this.emit(out, s.labels, now, s.kind === 'histogram' ? this.plans.plan(s.bounds).bounds : undefined);
        continue;
      }
      let folded = otherOf.get(s.labels);
      if (!folded) {
        const labels: Record<string, string> = {};
        for (const k of CGROUP_LABELS) labels[k] = '';
        labels.cgroup = 'other';
        for (const k in s.labels) if (!CGROUP_KEYS.has(k)) labels[k] = s.labels[k];
        folded = { key: JSON.stringify(labels), labels };
        if (Object.isFrozen(s.labels)) otherOf.set(s.labels, folded);
      }
      const { key, labels: extra } = folded;
      if (kind === 'gauge') {
        const o = gaugeOthers.get(key) ?? { labels: extra, total: 0, sum: 0 };
        o.total += now.total;
        gaugeOthers.set(key, o);
        continue;
      }
      // Counters and histograms: "other" grows by the series' increase since the previous scrape.
      const before = this.seen.get(s);
      if (!before) continue;
      let o = this.others.get(key);
      if (!o)
        this.others.set(
          key,
          (o = {
            labels: extra,
            total: 0,
            sum: 0,
            counts: now.counts?.map(() => 0),
            bounds: s.kind === 'histogram' ? this.plans.plan(s.bounds).bounds : undefined,
          }),
        );
      o.total += Math.max(0, now.total - before.total);
      o.sum += Math.max(0, (now.sum ?? 0) - (before.sum ?? 0));
      if (
        o.counts &&
        now.counts &&
        before.counts &&
        now.counts.length === o.counts.length &&
        before.counts.length === o.counts.length
      ) {
        for (let i = 0; i < o.counts.length; i++) o.counts[i] += Math.max(0, now.counts[i] - before.counts[i]);
      }
    }
    for (const o of this.others.values())
      this.emit(out, o.labels, { total: o.total, counts: o.counts, sum: o.sum }, o.bounds);
    for (const o of gaugeOthers.values()) this.emit(out, o.labels, { total: o.total }, undefined);
    this.seen = cur;
    return out;
  }

  private foldState(s: Extract<SeriesState, { kind: 'histogram' }>): Seen {
    const p = this.plans.plan(s.bounds);
    return { total: s.count, counts: foldCounts(s.counts, p.map, p.bounds.length), sum: s.sum };
  }

  private emit(
    out: MetricValue[],
    labels: Record<string, string>,
    v: Seen,
    bounds: readonly number[] | undefined,
  ): void {
    // Series labels go in sharedLabels: prom-client then formats them once per labels object, not once per line.
    if (this.spec.kind !== 'histogram' || !v.counts || !bounds) {
      out.push({ value: v.total, labels: NO_LABELS, sharedLabels: labels });
      return;
    }
    let cum = 0;
    for (let i = 0; i < bounds.length; i++) {
      cum += v.counts[i];
      out.push({ metricName: this.bucketName, value: cum, labels: leOf(bounds[i]), sharedLabels: labels });
    }
    out.push({ metricName: this.sumName, value: v.sum ?? 0, labels: NO_LABELS, sharedLabels: labels });
    out.push({ metricName: this.countName, value: v.total, labels: NO_LABELS, sharedLabels: labels });
  }
}

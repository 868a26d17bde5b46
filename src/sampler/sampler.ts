/**
 * The sampler: every tick it reads each counter family, turns cumulative readings into Samples (deltas), adds the
 * cgroup labels (CGROUP_LABELS: path, ids, QoS, and the namespace/pod/container/workload names) to per-cgroup series,
 * publishes the Tick to subscribers, keeps the cumulative state /metrics exports and a rolling per-cgroup history.
 * Families, the resolver and the pod directory are passed in.
 */
import { performance } from 'node:perf_hooks';
import type { Config } from '../config.ts';
import { parseDuration } from '../config.ts';
import { sameLabels, type Labels, type Sample, type Tick } from '../samples.ts';
import { signalSpec } from '../signals.ts';
import type { CounterFamily, FamilyStats, Reading } from '../probes/counters/types.ts';
import type { CgroupInfo, CgroupLookup } from '../probes/cgroups.ts';
import type { NameLookup } from '../probes/pod-directory.ts';
import { cgroupLabelsOf, nodeLevelLabels } from './cgroup-labels.ts';
import { advance, baselineSample, newState, type SeriesState } from './deltas.ts';
import { CgroupHistory, type Contribution, type HistoryPoint } from './history.ts';
import { historyEntries } from './history-key.ts';

import type { UnavailableFamily } from '../probes/counters/start.ts';
export type { UnavailableFamily } from '../probes/counters/start.ts';

/** Health of one family as the sampler sees it. */
export interface FamilyHealth {
  readonly name: string;
  reads: number;
  errors: number;
  lastError: string;
  readSecondsTotal: number;
  lastReadSeconds: number;
  series: number;
  stats: FamilyStats;
}

/** Upper bounds (seconds) of the tick duration histogram. */
export const TICK_BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, Infinity] as const;

/** Engine health the sampler measures. */
export interface SamplerHealth {
  ticks: number;
  lastTickAt: number;
  lastTickSeconds: number;
  tickSecondsTotal: number;
  /** Ticks per TICK_BOUNDS bucket (not cumulative). */
  readonly tickBuckets: number[];
  subscriberErrors: number;
  /** History values not kept because a cap (cgroups, keys per cgroup) was reached. */
  historyDropped: number;
  /** Cgroups with history now. */
  historyCgroups: number;
  readonly families: readonly FamilyHealth[];
  readonly unavailable: readonly UnavailableFamily[];
}

export interface SamplerOptions {
  readonly families: readonly CounterFamily[];
  /** Cgroup id → path and labels; without one, cgroup labels stay ''. */
  readonly resolver?: CgroupLookup;
  /** Names of a cgroup's pod (the pod directory the network side's snapshots fill); without: from paths only. */
  readonly pods?: NameLookup;
  readonly config: Readonly<Config>;
  readonly unavailable?: readonly UnavailableFamily[];
  /** Clock in ms (tests). @defaultValue Date.now */
  readonly now?: () => number;
}

export interface Sampler {
  /** Ticks every `config.sampler.tick` until stop(). */
  start(): void;
  stop(): void;
  /** One tick now (start() calls it on the timer; tests call it directly). */
  tick(): Tick;
  /** Subscribes to ticks; returns the unsubscribe function. A throwing subscriber is counted, never stops the sampler. */
  onTick(fn: (tick: Tick) => void): () => void;
  /** Cumulative state of a signal's series (what /metrics exports). */
  series(signal: string): Iterable<SeriesState>;
  /** Signals with at least one series now. */
  signals(): string[];
  /** Per-tick values of a cgroup since `sinceMs`, oldest first. */
  history(cgroupId: string, sinceMs: number): HistoryPoint[];
  /**
   * Per cgroup, the total of a counter signal over ticks in [sinceMs, untilMs], with the cgroup's path: the
   * contributions of each cgroup to a host-wide signal, from its per-cgroup twin (src/rules/contributors.ts).
   */
  contributions(signal: string, sinceMs: number, untilMs: number): Contribution[];
  health(): SamplerHealth;
  /** True once a tick has completed (/readyz). */
  readonly ticked: boolean;
}

/** True when `cgroup_id` is the only label (checked without allocating a key array, once per reading). */
function onlyCgroupId(labels: Labels): boolean {
  for (const k in labels) if (k !== 'cgroup_id') return false;
  return true;
}

/** Creates a sampler over the given families. */
export function createSampler(opts: SamplerOptions): Sampler {
  const now = opts.now ?? Date.now;
  const tickMs = parseDuration(opts.config.sampler.tick);
  const history = new CgroupHistory(Math.ceil(parseDuration(opts.config.sampler.history) / tickMs));
  const bySignal = new Map<string, Map<string, SeriesState>>();
  const byFamily = new Map<CounterFamily, Map<string, SeriesState>>();
  const subscribers = new Set<(t: Tick) => void>();
  const health: SamplerHealth = {
    ticks: 0,
    lastTickAt: 0,
    lastTickSeconds: 0,
    tickSecondsTotal: 0,
    tickBuckets: TICK_BOUNDS.map(() => 0),
    subscriberErrors: 0,
    historyDropped: 0,
    historyCgroups: 0,
    families: opts.families.map((f) => ({
      name: f.name,
      reads: 0,
      errors: 0,
      lastError: '',
      readSecondsTotal: 0,
      lastReadSeconds: 0,
      series: 0,
      stats: { programs: 0, dropped: 0 },
    })),
    unavailable: opts.unavailable ?? [],
  };
  let timer: NodeJS.Timeout | undefined;
  let lastAt = 0;

  // Labels of a cgroup, resolved once per tick and shared by all its series. The object stays the same across ticks
  // while its values do (same cgroup from the resolver, same names from the directory), so caches keyed by labels
  // objects (series keys, /metrics formatting) keep hitting. Names that arrive later (the pod cache syncs after the
  // engine starts; a container's id reaches the pod's status after its cgroup exists) give a new object with the same
  // cgroup_id: the series stays one series (the sampler keys readings, the rules key windows, by ids).
  const labelCache = new Map<string, { info: CgroupInfo | undefined; gen: number; labels: Labels; tick: number }>();
  let tickNo = 0;
  const cgroupLabels = (id: string): Labels => {
    let e = labelCache.get(id);
    if (e && e.tick === tickNo) return e.labels;
    const info = opts.resolver?.resolve(id);
    const gen = opts.pods?.generation ?? 0;
    if (!e || e.info !== info || e.gen !== gen) {
      const labels = cgroupLabelsOf(id, info, opts.pods);
      if (e && sameLabels(e.labels, labels)) {
        e.info = info;
        e.gen = gen;
      } else labelCache.set(id, (e = { info, gen, labels, tick: tickNo }));
    }
    e.tick = tickNo;
    return e.labels;
  };
  // Reading labels with more than the id (syscall, device, …) merged with the cgroup's, per frozen reading labels
  // object: the merged object then stays the same across ticks too.
  const merged = new WeakMap<Labels, { cg: Labels; labels: Labels }>();
  const labelsOf = (r: Reading): Labels => {
    const id = r.labels.cgroup_id;
    if (id !== undefined && id !== '') {
      const cg = cgroupLabels(id);
      if (onlyCgroupId(r.labels)) return cg;
      const m = merged.get(r.labels);
      if (m && m.cg === cg) return m.labels;
      const labels = Object.freeze({ ...r.labels, ...cg });
      if (Object.isFrozen(r.labels)) merged.set(r.labels, { cg, labels });
      return labels;
    }
    // Node-level series of a per-cgroup signal (e.g. PSI of the whole host): cgroup labels are ''.
    const spec = signalSpec(r.signal);
    return spec?.labels.includes('cgroup') ? nodeLevelLabels(r.labels) : r.labels;
  };

  // Internal series key: families emit labels in a stable order, so no sorting is needed (seriesKey sorts).
  // Cached per labels object: families that reuse one frozen labels object per cgroup build no string per tick.
  const keyCache = new WeakMap<Labels, Map<string, string>>();
  const keyOf = (r: Reading): string => {
    let bySig = keyCache.get(r.labels);
    let key = bySig?.get(r.signal);
    if (key !== undefined) return key;
    key = r.signal;
    for (const k in r.labels) key += `\u0000${k}=${r.labels[k]}`;
    if (Object.isFrozen(r.labels)) {
      if (!bySig) keyCache.set(r.labels, (bySig = new Map()));
      bySig.set(r.signal, key);
    }
    return key;
  };

  function readFamily(f: CounterFamily, fh: FamilyHealth, samples: Sample[]): void {
    const t0 = performance.now();
    let readings: Reading[];
    try {
      readings = f.read();
    } catch (err) {
      // Keep the family's state: a failed read is not a vanished series.
      fh.errors++;
      fh.lastError = err instanceof Error ? err.message : String(err);
      return;
    } finally {
      fh.lastReadSeconds = (performance.now() - t0) / 1000;
      fh.readSecondsTotal += fh.lastReadSeconds;
      fh.reads++;
    }
    let series = byFamily.get(f);
    if (!series) byFamily.set(f, (series = new Map()));
    const mark = health.ticks + 1;
    let historyId = '';
    const put = (k: string, v: number): void => history.put(historyId, k, v);
    for (const r of readings) {
      const key = keyOf(r);
      const labels = labelsOf(r);
      let s = series.get(key);
      let sample = s ? advance(s, r, labels) : null;
      if (!s || !sample) {
        s = newState(r, labels, r.labels.cgroup_id || undefined);
        sample = baselineSample(s);
        series.set(key, s);
        let m = bySignal.get(r.signal);
        if (!m) bySignal.set(r.signal, (m = new Map()));
        m.set(key, s);
      }
      s.seen = mark;
      samples.push(sample);
      if (s.cgroupId) {
        historyId = s.cgroupId;
        historyEntries(sample, put);
      }
    }
    // Series the family no longer reports (cgroup gone, family restarted) are forgotten.
    for (const [key, s] of series) {
      if (s.seen !== mark) {
        series.delete(key);
        bySignal.get(s.signal)?.delete(key);
      }
    }
    fh.series = series.size;
    try {
      fh.stats = f.stats();
    } catch {
      /* stats are best effort */
    }
  }

  const sampler: Sampler = {
    get ticked() {
      return health.ticks > 0;
    },
    tick() {
      const t0 = performance.now();
      const at = now();
      tickNo++;
      const samples: Sample[] = [];
      history.beginTick(at);
      opts.families.forEach((f, i) => readFamily(f, health.families[i], samples));
      history.endTick();
      health.historyDropped = history.dropped;
      health.historyCgroups = history.size;
      // Cgroups not seen this tick: their labels are dropped (a cgroup coming back is resolved afresh).
      for (const [id, e] of labelCache) if (e.tick !== tickNo) labelCache.delete(id);
      const tick: Tick = { at, intervalMs: lastAt ? at - lastAt : tickMs, samples };
      lastAt = at;
      for (const fn of subscribers) {
        try {
          fn(tick);
        } catch {
          health.subscriberErrors++;
        }
      }
      const secs = (performance.now() - t0) / 1000;
      health.ticks++;
      health.lastTickAt = at;
      health.lastTickSeconds = secs;
      health.tickSecondsTotal += secs;
      health.tickBuckets[TICK_BOUNDS.findIndex((b) => secs <= b)]++;
      return tick;
    },
    start() {
      if (timer) return;
      sampler.tick();
      timer = setInterval(() => sampler.tick(), tickMs);
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    onTick(fn) {
      subscribers.add(fn);
      return () => {
        subscribers.delete(fn);
      };
    },
    series(signal) {
      return bySignal.get(signal)?.values() ?? [];
    },
    signals() {
      return [...bySignal].filter(([, m]) => m.size > 0).map(([s]) => s);
    },
    history(cgroupId, sinceMs) {
      return history.query(cgroupId, sinceMs);
    },
    contributions(signal, sinceMs, untilMs) {
      return [...history.totals(signal, sinceMs, untilMs)].map(([cgroupId, value]) => ({
        cgroupId,
        cgroup: opts.resolver?.resolve(cgroupId)?.path ?? '',
        value,
      }));
    },
    health() {
      return health;
    },
  };
  return sampler;
}

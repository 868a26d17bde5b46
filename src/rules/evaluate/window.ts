/**
 * Per-series sliding windows: one ring buffer per series key holding the samples of the longest
 * window any rule reads that signal over (signals no rule reads are not kept at all). Counters and histograms are stored as
 * running sums *before* each sample, so the increase over any window is one subtraction
 * (`total - before[first]`): evaluating 1,000 rules costs O(1) per counter and O(buckets) per
 * histogram, whatever the window length.
 */
import type { Sample, Tick, Labels } from '../../samples.ts';
import { sameLabels } from '../../samples.ts';
import { identityKey } from './series-identity.ts';

/** Samples kept beyond the longest window (jittery ticks, the sample just before the window). */
const SLACK = 2;
/** Hard ceiling of a ring, whatever the ticks: bounds memory if the sampler misbehaves (1 s ticks, 1 day). */
const MAX_CAP = 86_400;
/** Rows a histogram keeps before its ticks are strided: 360 rows of 28 buckets is 80 KiB a series, even for a 1 h window. */
export const MAX_HISTOGRAM_ROWS = 360;

/** The ring buffer of one series. Index 0 of the accessors is the oldest stored sample. */
export class SeriesWindow {
  readonly key: string;
  readonly signal: string;
  /** The latest sample's labels: a per-cgroup series' names may arrive or change after its first sample. */
  labels: Labels;
  readonly kind: Sample['kind'];
  /** Histogram bucket upper bounds (base unit); empty for counters and gauges. */
  bounds: readonly number[] = [];
  /** Samples stored (≤ capacity). */
  n = 0;
  /** Time of the newest sample, ms. */
  lastAt = -Infinity;
  /** Counter: sum of all deltas seen; histogram: sum of all observation counts. */
  total = 0;
  /** Histogram: sum of all observed values, and per-bucket totals. */
  totalSum = 0;
  totalBuckets: Float64Array = new Float64Array(0);
  private cap: number;
  private head = 0;
  private at: Float64Array;
  private iv: Float64Array;
  /** Counter/histogram: running total before the sample; gauge: the value. */
  private v: Float64Array;
  private sumBefore: Float64Array = new Float64Array(0);
  /** firstIn of the last (now, window) asked: several rules read the same series with the same window. */
  private memoNow = NaN;
  private memoWin = NaN;
  private memoJ = 0;
  /** Statistics already computed at `statsAt` (key ids from statKey in conditions.ts), shared by rules reading this series. */
  private statsAt = NaN;
  private statN = 0;
  private statKeys = new Int32Array(0);
  private statVals = new Float64Array(0);
  private bucketsBefore: Float64Array = new Float64Array(0);

  /**
   * Ticks per stored row (histograms over long windows only): a row holds the running sums at its
   * first tick, later ticks of the row only move the totals, so sums stay exact and the window start
   * is resolved to `stride` ticks. Bounds a histogram's memory to about MAX_HISTOGRAM_ROWS rows.
   */
  readonly stride: number;
  private sinceRow = 0;

  constructor(sample: Sample, cap: number, stride = 1) {
    this.stride = Math.max(1, Math.floor(stride));
    this.signal = sample.signal;
    this.labels = sample.labels;
    this.kind = sample.kind;
    this.key = identityKey(sample.signal, sample.labels);
    this.cap = Math.max(2, cap);
    this.at = new Float64Array(this.cap);
    this.iv = new Float64Array(this.cap);
    this.v = new Float64Array(this.cap);
    if (sample.kind === 'histogram') this.resetHistogram(sample.bounds);
  }

  get capacity(): number {
    return this.cap;
  }

  private resetHistogram(bounds: readonly number[]): void {
    this.bounds = bounds.slice();
    this.totalBuckets = new Float64Array(bounds.length);
    this.sumBefore = new Float64Array(this.cap);
    this.bucketsBefore = new Float64Array(this.cap * bounds.length);
    this.n = 0;
    this.total = 0;
    this.totalSum = 0;
    this.memoNow = NaN;
    this.statsAt = NaN;
  }

  /** Physical slot of logical index j (0 = oldest). */
  slot(j: number): number {
    const p = this.head - this.n + j;
    return p < 0 ? p + this.cap : p;
  }

  /** Appends one sample taken at `at`, `intervalMs` after the previous tick; grows the ring while the oldest sample is still inside `keepMs`. */
  push(sample: Sample, at: number, intervalMs: number, keepMs: number): void {
    if (sample.kind === 'histogram' && sample.deltas.length !== this.bounds.length) this.resetHistogram(sample.bounds);
    if (this.stride > 1 && this.n > 0 && this.sinceRow < this.stride) {
      this.addToRow(sample, at);
      return;
    }
    this.sinceRow = 1;
    if (this.n === this.cap && this.cap < MAX_CAP && this.at[this.slot(0)] > at - keepMs)
      this.grow(Math.min(MAX_CAP, this.cap * 2));
    const s = this.head;
    this.at[s] = at;
    this.iv[s] = intervalMs;
    if (sample.kind === 'gauge') {
      this.v[s] = sample.value;
    } else if (sample.kind === 'counter') {
      this.v[s] = this.total;
      this.total += sample.delta;
    } else {
      this.v[s] = this.total;
      this.sumBefore[s] = this.totalSum;
      const nb = this.bounds.length;
      const base = s * nb;
      for (let b = 0; b < nb; b++) {
        this.bucketsBefore[base + b] = this.totalBuckets[b];
        this.totalBuckets[b] += sample.deltas[b];
      }
      this.total += sample.countDelta;
      this.totalSum += sample.sumDelta;
    }
    this.lastAt = at;
    this.memoNow = NaN;
    this.statsAt = NaN;
    this.head = s + 1 === this.cap ? 0 : s + 1;
    if (this.n < this.cap) this.n++;
  }

  /** A tick inside the current row: only the totals move (the row keeps the sums at its start). */
  private addToRow(sample: Sample, at: number): void {
    this.sinceRow++;
    if (sample.kind === 'counter') this.total += sample.delta;
    else if (sample.kind === 'histogram') {
      for (let b = 0; b < this.bounds.length; b++) this.totalBuckets[b] += sample.deltas[b];
      this.total += sample.countDelta;
      this.totalSum += sample.sumDelta;
    } else this.v[this.slot(this.n - 1)] = sample.value; // never used: gauges are not strided
    this.lastAt = at;
    this.memoNow = NaN;
    this.statsAt = NaN;
  }

  private grow(cap: number): void {
    const nb = this.bounds.length;
    const at = new Float64Array(cap),
      iv = new Float64Array(cap),
      v = new Float64Array(cap);
    const sb = new Float64Array(nb > 0 ? cap : 0),
      bb = new Float64Array(cap * nb);
    for (let j = 0; j < this.n; j++) {
      const p = this.slot(j);
      at[j] = this.at[p];
      iv[j] = this.iv[p];
      v[j] = this.v[p];
      if (nb > 0) {
        sb[j] = this.sumBefore[p];
        bb.set(this.bucketsBefore.subarray(p * nb, p * nb + nb), j * nb);
      }
    }
    this.at = at;
    this.iv = iv;
    this.v = v;
    this.sumBefore = sb;
    this.bucketsBefore = bb;
    this.head = this.n === cap ? 0 : this.n;
    this.cap = cap;
  }

  /** Logical index of the first sample inside the window (at > now - windowMs); `n` when none. */
  firstIn(now: number, windowMs: number): number {
    if (now === this.memoNow && windowMs === this.memoWin) return this.memoJ;
    const from = now - windowMs;
    const n = this.n;
    let j: number;
    // Ticks are regular: guess from the newest sample's interval, then step; binary search if far off.
    const iv = n > 0 ? this.iv[this.slot(n - 1)] * this.stride : 0;
    const guess = iv > 0 ? n - Math.floor((this.at[this.slot(n - 1)] - from) / iv) - 1 : -1;
    if (guess > 0 && guess < n && this.at[this.slot(guess)] > from && this.at[this.slot(guess - 1)] <= from) j = guess;
    else if (guess >= 0 && guess + 1 < n && this.at[this.slot(guess)] <= from && this.at[this.slot(guess + 1)] > from)
      j = guess + 1;
    else {
      let lo = 0,
        hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.at[this.slot(mid)] > from) hi = mid;
        else lo = mid + 1;
      }
      j = lo;
    }
    this.memoNow = now;
    this.memoWin = windowMs;
    this.memoJ = j;
    return j;
  }

  /** Slot of a statistic computed earlier at `now` under `key`, or -1 (read it with `recalled`). */
  recall(now: number, key: number): number {
    if (now !== this.statsAt) return -1;
    const k = this.statKeys;
    for (let i = 0; i < this.statN; i++) if (k[i] === key) return i;
    return -1;
  }

  /** The statistic in slot `i` of `recall`. */
  recalled(i: number): number {
    return this.statVals[i];
  }

  /** Remembers a statistic computed at `now` (forgotten at the next `now`). */
  remember(now: number, key: number, value: number): void {
    if (now !== this.statsAt) {
      this.statsAt = now;
      this.statN = 0;
    }
    if (this.statN === this.statKeys.length) {
      // Grown rarely (a series read by more distinct stats than before); typed arrays keep doubles unboxed.
      const k = new Int32Array(this.statN * 2 + 2),
        v = new Float64Array(this.statN * 2 + 2);
      k.set(this.statKeys);
      v.set(this.statVals);
      this.statKeys = k;
      this.statVals = v;
    }
    this.statKeys[this.statN] = key;
    this.statVals[this.statN] = value;
    this.statN++;
  }

  /** Time of sample j, ms. */
  atOf(j: number): number {
    return this.at[this.slot(j)];
  }
  /** Tick interval that sample j covers, ms. */
  intervalOf(j: number): number {
    return this.iv[this.slot(j)];
  }
  /** Gauge value of sample j. */
  valueOf(j: number): number {
    return this.v[this.slot(j)];
  }
  /** Counter delta (histogram: observation count) of sample j. */
  deltaOf(j: number): number {
    return (j + 1 < this.n ? this.v[this.slot(j + 1)] : this.total) - this.v[this.slot(j)];
  }
  /** Counter/histogram running total before sample j. */
  before(j: number): number {
    return this.v[this.slot(j)];
  }
  /** Histogram: running sum of observed values before sample j. */
  sumBeforeOf(j: number): number {
    return this.sumBefore[this.slot(j)];
  }
  /** Histogram: adds the bucket counts of samples j..newest into `into` (same length as bounds). */
  addBucketsSince(j: number, into: Float64Array): void {
    const nb = this.bounds.length;
    const base = this.slot(j) * nb;
    for (let b = 0; b < nb; b++) into[b] += this.totalBuckets[b] - this.bucketsBefore[base + b];
  }
}

/** Every series window, indexed by key and by signal; `version(signal)` changes when that signal's series set does. */
export class WindowStore {
  private readonly byKey = new Map<string, SeriesWindow>();
  private readonly bySig = new Map<string, SeriesWindow[]>();
  private readonly versions = new Map<string, number>();
  /** Series keys cached per labels object: samplers reuse label objects, so the sort-and-quote runs once per series. */
  private readonly keyCache = new WeakMap<Labels, Map<string, string>>();
  private windows: ReadonlyMap<string, number>;
  private longest = 1;
  private lastSweep = -Infinity;

  /** `windows`: per signal, the longest window a rule reads it over (see windowsOf in evaluate.ts); other signals are not kept. */
  constructor(windows: ReadonlyMap<string, number>) {
    this.windows = windows;
    this.setWindows(windows);
  }

  /** New windows (after a reload): rings grow as samples arrive; series of signals no rule reads any more are dropped. */
  setWindows(windows: ReadonlyMap<string, number>): void {
    this.windows = windows;
    this.longest = Math.max(1, ...windows.values());
    for (const signal of [...this.bySig.keys()]) {
      if (windows.has(signal)) continue;
      for (const w of this.bySig.get(signal)!) this.byKey.delete(w.key);
      this.bySig.delete(signal);
      this.bump(signal);
    }
  }

  get size(): number {
    return this.byKey.size;
  }

  private keyOf(s: Sample): string {
    let m = this.keyCache.get(s.labels);
    if (!m) {
      m = new Map();
      this.keyCache.set(s.labels, m);
    }
    let k = m.get(s.signal);
    if (k === undefined) {
      k = identityKey(s.signal, s.labels);
      m.set(s.signal, k);
    }
    return k;
  }

  /** Adds the samples of one tick (of the signals some rule reads); forgets series unseen for longer than their window. */
  ingest(tick: Tick): void {
    const samples = tick.samples;
    const iv = Math.max(1, tick.intervalMs);
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i];
      const win = this.windows.get(s.signal);
      if (win === undefined) continue;
      const k = this.keyOf(s);
      let w = this.byKey.get(k);
      if (!w || w.kind !== s.kind) {
        if (w) this.remove(w);
        const rows = Math.ceil(win / iv);
        const stride = s.kind === 'histogram' && rows > MAX_HISTOGRAM_ROWS ? Math.ceil(rows / MAX_HISTOGRAM_ROWS) : 1;
        w = new SeriesWindow(s, Math.ceil(rows / stride) + SLACK, stride);
        this.byKey.set(k, w);
        let list = this.bySig.get(s.signal);
        if (!list) {
          list = [];
          this.bySig.set(s.signal, list);
        }
        list.push(w);
        this.bump(s.signal);
      } else if (w.labels !== s.labels) {
        // Same series, other labels object: when a value changed (names arrived), groups and matchers see it.
        if (!sameLabels(w.labels, s.labels)) this.bump(s.signal);
        w.labels = s.labels;
      }
      w.push(s, tick.at, tick.intervalMs, win + tick.intervalMs);
    }
    // Sweep at most once per longest window: cheap, and a stale series only costs memory meanwhile.
    if (tick.at - this.lastSweep >= this.longest) {
      this.sweep(tick.at, tick.intervalMs);
      this.lastSweep = tick.at;
    }
  }

  private bump(signal: string): void {
    this.versions.set(signal, (this.versions.get(signal) ?? 0) + 1);
    this.generation++;
  }

  /** Changes whenever any series appears or goes (a cheap first check before per-signal versions). */
  generation = 0;

  private remove(w: SeriesWindow): void {
    this.byKey.delete(w.key);
    const list = this.bySig.get(w.signal);
    if (list) {
      const i = list.indexOf(w);
      if (i >= 0) list.splice(i, 1);
    }
    this.bump(w.signal);
  }

  private sweep(now: number, intervalMs: number): void {
    for (const [signal, list] of this.bySig) {
      const before = now - (this.windows.get(signal) ?? 0) - intervalMs;
      const kept = list.filter((w) => w.lastAt > before);
      if (kept.length === list.length) continue;
      for (const w of list) if (w.lastAt <= before) this.byKey.delete(w.key);
      this.bySig.set(signal, kept);
      this.bump(signal);
    }
  }

  /** The windows of one signal (do not mutate). */
  series(signal: string): readonly SeriesWindow[] {
    return this.bySig.get(signal) ?? [];
  }

  /** Changes whenever a series of `signal` appears or goes. */
  version(signal: string): number {
    return this.versions.get(signal) ?? 0;
  }

  /** One window by series key. */
  get(key: string): SeriesWindow | undefined {
    return this.byKey.get(key);
  }
}

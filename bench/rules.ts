/**
 * Rules evaluator benchmark: 1,000 rules over N series per tick (default N = 2,500, 5,000, 10,000,
 * 20,000 to show growth), 1 s ticks, windows of 30 s and 1 m already full.
 *
 *   scripts/node --expose-gc bench/rules.ts [--series 10000] [--rules 1000] [--ticks 100]
 *
 * Series: N/4 cgroups in 100 teams (`/kubepods/burstable/team-T/podI`), each with a run-queue delay
 * histogram (27 log2 buckets, as the runq counter publishes), and three counters (scheduled-out over
 * threshold, throttled periods, periods). 1% of cgroups are hot, so rules trip and incidents are built.
 * Rules: 10 host-wide rules grouped per cgroup over every cgroup, and 990 team rules (a cgroup regex
 * selecting one team, 1% of the cgroups), rotating through p99, rate, ratio and all-of(rate, ratio).
 * Target: < 50 ms per tick at 10,000 series, linear in series.
 */
import { Evaluator } from '../src/rules/evaluate/evaluate.ts';
import type { ConditionTree, Rule, RuleSet } from '../src/rules/types.ts';
import { log2Bounds, type Labels, type Sample, type Tick } from '../src/samples.ts';
import { sampleQuantile as q } from '../src/quantile.ts';

const arg = (name: string): number | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
};
const TEAMS = 100;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with --expose-gc for allocation figures: scripts/node --expose-gc bench/rules.ts');
}

const BOUNDS = log2Bounds(27, 1e-6); // 1 µs .. ~67 s, then +Inf

function makeRules(n: number): RuleSet {
  const rules: Rule[] = [];
  const base = (name: string, when: ConditionTree, match: Rule['match'] = {}): Rule => ({
    name,
    source: { file: 'bench', line: 1, column: 1 },
    severity: 'warning',
    labels: {},
    groupBy: ['cgroup'],
    match,
    when,
    forMs: 10_000,
    keepFiringForMs: 0,
    cooldownMs: 300_000,
    maxTripsPerHour: 10,
    mute: [],
    annotations: { summary: '{{ .labels.cgroup }} {{ .value | duration }}' },
    actions: [],
  });
  const p99 = {
    signal: 'runq_delay_seconds',
    stat: 'p99' as const,
    windowMs: 60_000,
    op: 'above' as const,
    threshold: 0.02,
    resolveThreshold: 0.01,
    thresholdText: '20ms',
  };
  const rate = {
    signal: 'runq_delay_over_threshold',
    stat: 'rate' as const,
    windowMs: 30_000,
    op: 'above' as const,
    threshold: 20,
    thresholdText: '20/s',
  };
  const ratio = {
    signal: 'cpu_throttled_periods',
    ratioTo: 'cpu_periods',
    stat: 'rate' as const,
    windowMs: 30_000,
    op: 'above' as const,
    threshold: 0.2,
    thresholdText: '20%',
  };
  const kinds: ConditionTree[] = [p99, rate, ratio, { all: [rate, ratio] }];
  for (let i = 0; i < 10 && rules.length < n; i++) rules.push(base(`host-${i}`, kinds[i % 4]));
  for (let i = 0; rules.length < n; i++) {
    rules.push(
      base(`team-${i}`, kinds[i % 4], { cgroup: { op: 'regex', pattern: `/kubepods/burstable/team-${i % TEAMS}/.*` } }),
    );
  }
  return { rules, silences: [], inhibitions: [] };
}

interface Cg {
  labels: Labels;
  hot: boolean;
}

function makeCgroups(series: number): Cg[] {
  const out: Cg[] = [];
  for (let i = 0; i < series / 4; i++) {
    const team = i % TEAMS;
    const cgroup = `/kubepods/burstable/team-${team}/pod${i}`;
    out.push({
      labels: Object.freeze({
        cgroup,
        cgroup_id: String(100_000 + i),
        container: 'app',
        pod_uid: `pod${i}`,
        qos: 'burstable',
      }),
      hot: i % 100 === 7,
    });
  }
  return out;
}

/** One tick of samples, as the sampler publishes them (new sample objects, cached label objects). */
function makeTick(cgs: Cg[], at: number, seed: number): Tick {
  const samples: Sample[] = [];
  let x = seed;
  const rnd = (): number => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x / 0x7fffffff;
  };
  for (const c of cgs) {
    const deltas = new Array<number>(BOUNDS.length).fill(0);
    const slot = c.hot ? 15 : 8 + Math.floor(rnd() * 4); // hot: ~16–32 ms; others: 128 µs–2 ms
    deltas[slot] = 50;
    deltas[slot - 1] = 30;
    samples.push({
      kind: 'histogram',
      signal: 'runq_delay_seconds',
      labels: c.labels,
      bounds: BOUNDS,
      deltas,
      sumDelta: 80 * BOUNDS[slot - 1],
      countDelta: 80,
    });
    samples.push({
      kind: 'counter',
      signal: 'runq_delay_over_threshold',
      labels: c.labels,
      delta: c.hot ? 40 : Math.floor(rnd() * 3),
      total: 0,
    });
    samples.push({
      kind: 'counter',
      signal: 'cpu_throttled_periods',
      labels: c.labels,
      delta: c.hot ? 5 : 0,
      total: 0,
    });
    samples.push({ kind: 'counter', signal: 'cpu_periods', labels: c.labels, delta: 10, total: 0 });
  }
  return { at, intervalMs: 1000, samples };
}

function run(series: number, nRules: number, ticks: number): void {
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const ev = new Evaluator(makeRules(nRules), { host: 'bench' });
  const cgs = makeCgroups(series);
  const T0 = Date.parse('2026-11-25T00:00:00Z');
  let t = 0,
    fired = 0;
  // Warm-up: fill the 1 m windows (and let the JIT settle).
  for (; t < 65; t++) fired += ev.tick(makeTick(cgs, T0 + t * 1000, t)).length;
  gc?.();
  const retained = process.memoryUsage().heapUsed - heap0;
  const times: number[] = [];
  const cpu: number[] = [];
  const alloc: number[] = [];
  // Timing pass: no forced GC (a forced full GC before each tick evicts the caches and skews the time).
  for (let i = 0; i < ticks; i++, t++) {
    const tick = makeTick(cgs, T0 + t * 1000, t);
    const c = process.cpuUsage();
    const s = performance.now();
    fired += ev.tick(tick).length;
    times.push(performance.now() - s);
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1000);
  }
  // Allocation pass: heap growth over one tick right after a full GC (young-generation garbage included).
  for (let i = 0; gc && i < 10; i++, t++) {
    const tick = makeTick(cgs, T0 + t * 1000, t);
    gc();
    const h = process.memoryUsage().heapUsed;
    fired += ev.tick(tick).length;
    alloc.push(process.memoryUsage().heapUsed - h);
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const cpuMean = cpu.reduce((a, b) => a + b, 0) / cpu.length;
  alloc.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(
    [
      `series ${String(series).padStart(6)}`,
      `rules ${nRules}`,
      `wall/tick mean ${mean.toFixed(1)} ms p50 ${q(times, 0.5).toFixed(1)} p99 ${q(times, 0.99).toFixed(1)}`,
      `cpu/tick mean ${cpuMean.toFixed(1)} ms p50 ${q(cpu, 0.5).toFixed(1)}`,
      gc ? `alloc/tick p50 ${(q(alloc, 0.5) / 1024).toFixed(0)} KiB` : 'alloc n/a',
      gc ? `retained ${(retained / 1024 / 1024).toFixed(1)} MiB (${(retained / series).toFixed(0)} B/series)` : '',
      `incidents ${fired}`,
      `firing ${ev.firing().length}`,
      `suppressed ${ev.suppressor.suppressed().length}`,
    ].join(' | '),
  );
}

const nRules = arg('rules') ?? 1000;
const ticks = arg('ticks') ?? 100;
const sizes = arg('series') ? [arg('series')!] : [2500, 5000, 10_000, 20_000];
console.log(`node ${process.version}, ${ticks} measured ticks after a 65-tick warm-up`);
for (const n of sizes) run(n, nRules, ticks);

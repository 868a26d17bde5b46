/**
 * /metrics scrape cost with 1,000 cgroups, to size `metrics.top_cgroups`.
 *   scripts/node bench/scrape.ts [--cgroups 1000] [--scrapes 40]
 * Needs root (makes real cgroups). What it does:
 *  - makes N real cgroups with a CPU quota (so the real cpustat family reads N × cpu.stat + cpuacct.usage each tick);
 *  - adds per-cgroup histograms shaped like the kernel's (32 log2 slots: runq delay and TCP connect) plus the
 *    over-threshold and retransmit counters, for the same cgroup ids, so the exporter sees the full per-cgroup
 *    cardinality of the catalog (the BPF families themselves are measured in their own benchmark);
 *  - for several top-N caps: ticks the sampler, scrapes, and reports p50/p99 scrape time, bytes and series;
 *  - for reference, the time prom-client's own Histogram takes for N series of 24 buckets.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Histogram, Registry } from 'prom-client';
import { buildConfig } from '../src/config.ts';
import { createSampler } from '../src/sampler/sampler.ts';
import { createMetrics } from '../src/metrics/index.ts';
import { createCpuStatFamily } from '../src/probes/counters/cpustat.ts';
import { CgroupResolver } from '../src/probes/cgroups.ts';
import { findCpuMount } from '../src/probes/cgroup-mount.ts';
import { createCgroup, type ManagedCgroup } from '../src/demo/cgroup-admin.ts';
import { log2Bounds } from '../src/samples.ts';
import type { CounterFamily, Reading } from '../src/probes/counters/types.ts';
import { sampleQuantile } from '../src/quantile.ts';

const { values: args } = parseArgs({
  options: { cgroups: { type: 'string', default: '1000' }, scrapes: { type: 'string', default: '40' } },
});
const N = Number(args.cgroups);
const SCRAPES = Number(args.scrapes);

/** Percentile p (0..100) of the timings. */
const pct = (xs: number[], p: number): number => sampleQuantile(xs, p / 100);
const ms = (x: number): string => x.toFixed(1).padStart(7);

/** Kernel-shaped histograms for the cgroups: counts grow a little each read (a skewed mix of slots). */
function histogramLoad(ids: readonly string[]): CounterFamily {
  const bounds = log2Bounds(32, 1e-6);
  const state = ids.map(() => ({
    runq: new Array<number>(32).fill(0),
    tcp: new Array<number>(32).fill(0),
    over: 0,
    retx: 0,
  }));
  let seed = 42;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return {
    name: 'bench-hist',
    read(): Reading[] {
      const out: Reading[] = [];
      ids.forEach((id, i) => {
        const s = state[i];
        for (let k = 0; k < 8; k++) s.runq[Math.min(31, 2 + Math.floor(rnd() * 14))]++;
        if (rnd() < 0.2) s.tcp[Math.min(31, 5 + Math.floor(rnd() * 10))]++;
        if (rnd() < 0.1) s.over++;
        if (rnd() < 0.02) s.retx++;
        const labels = { cgroup_id: id };
        out.push({ kind: 'histogram', signal: 'runq_delay_seconds', labels, bounds, counts: s.runq.slice() });
        out.push({ kind: 'counter', signal: 'runq_delay_over_threshold', labels, value: s.over });
        out.push({ kind: 'histogram', signal: 'tcp_connect_latency_seconds', labels, bounds, counts: s.tcp.slice() });
        out.push({ kind: 'counter', signal: 'tcp_retransmits', labels, value: s.retx });
      });
      return out;
    },
    stats: () => ({ programs: 0, dropped: 0 }),
    close() {},
  };
}

const mount = findCpuMount();
const parent = createCgroup({ name: `tripline-bench-${process.pid}`, mount });
const made: ManagedCgroup[] = [];
const cleanup = (): void => {
  for (const c of made.reverse()) {
    try {
      c.destroy();
    } catch {
      /* best effort */
    }
  }
  made.length = 0;
  parent.destroy();
};
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});
try {
  let t0 = performance.now();
  for (let i = 0; i < N; i++) made.push(createCgroup({ name: `${parent.rel.slice(1)}/c${i}`, quotaCores: 0.5, mount }));
  console.log(
    `made ${N} cgroups with a quota in ${(performance.now() - t0).toFixed(0)} ms (cgroup v${mount.version} at ${mount.dir})`,
  );

  const cpustat = createCpuStatFamily({ mount });
  const hist = histogramLoad(made.map((c) => c.id));
  console.log('\n== cpustat over real cgroups and sampler ticks (no scrapes)');
  const config0 = buildConfig({}, {});
  const sampler0 = createSampler({
    families: [cpustat, hist],
    resolver: new CgroupResolver({ mount }),
    config: config0,
  });
  const reads: number[] = [];
  const ticks: number[] = [];
  const own: number[] = [];
  for (let i = 0; i < 60; i++) {
    t0 = performance.now();
    sampler0.tick();
    ticks.push(performance.now() - t0);
    const fams = sampler0.health().families;
    reads.push(fams[0].lastReadSeconds * 1000);
    // The sampler's own work: the tick minus the families' reads (the bench family's generation is not the sampler's).
    own.push(ticks.at(-1)! - (fams[0].lastReadSeconds + fams[1].lastReadSeconds) * 1000);
  }
  const fh = sampler0.health().families;
  console.log(
    `cpustat read (${fh[0].series} series): p50 ${ms(pct(reads, 50))} ms  p90 ${ms(pct(reads, 90))} ms  max ${ms(Math.max(...reads))} ms  (every 5th read walks the tree)`,
  );
  console.log(
    `sampler tick (cpustat + ${fh[1].series} histogram/counter series): p50 ${ms(pct(ticks, 50))} ms  p90 ${ms(pct(ticks, 90))} ms  max ${ms(Math.max(...ticks))} ms`,
  );
  console.log(
    `sampler's own work per tick (deltas, labels, history for ${fh[0].series + fh[1].series} series): p50 ${ms(pct(own, 50))} ms  p90 ${ms(pct(own, 90))} ms`,
  );
  globalThis.gc?.();
  {
    const u = process.memoryUsage();
    console.log(
      `memory after the sampler's ticks: RSS ${(u.rss / 1e6).toFixed(0)} MB, V8 heap used ${(u.heapUsed / 1e6).toFixed(0)} MB of ${(u.heapTotal / 1e6).toFixed(0)} MB, external ${(u.external / 1e6).toFixed(0)} MB`,
    );
  }

  console.log(
    `\n== /metrics scrape, ${N} cgroups (per cgroup: 2 histograms of 32 kernel slots → ≤16 buckets, 6 counters, 1 gauge)`,
  );
  console.log('top_cgroups   p50 ms   p99 ms    bytes   lines');
  for (const top of [N, 500, 250, 100, 50]) {
    if (top > N) continue;
    const config = buildConfig({ metrics: { top_cgroups: top } }, {});
    const metrics = createMetrics({ sampler: sampler0, config });
    const times: number[] = [];
    let text = '';
    for (let i = 0; i < SCRAPES; i++) {
      sampler0.tick();
      t0 = performance.now();
      text = await metrics.scrape();
      times.push(performance.now() - t0);
    }
    const lines = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
    console.log(
      `${String(top).padStart(11)}  ${ms(pct(times, 50))}  ${ms(pct(times, 99))}  ${String(text.length).padStart(7)}  ${String(lines).padStart(6)}`,
    );
  }

  console.log(`\n== reference: prom-client Histogram, ${N} series × 24 buckets, 5 labels`);
  const reg = new Registry();
  const h = new Histogram({
    name: 'ref_seconds',
    help: 'reference',
    labelNames: ['cgroup', 'cgroup_id', 'container', 'pod_uid', 'qos'],
    buckets: log2Bounds(24, 1e-6).slice(0, 23),
    registers: [reg],
  });
  for (const c of made)
    for (let k = 0; k < 5; k++)
      h.observe({ cgroup: c.path, cgroup_id: c.id, container: '', pod_uid: '', qos: '' }, 1e-6 * 2 ** k);
  const ref: number[] = [];
  for (let i = 0; i < SCRAPES; i++) {
    t0 = performance.now();
    await reg.metrics();
    ref.push(performance.now() - t0);
  }
  console.log(`p50 ${ms(pct(ref, 50))} ms  p99 ${ms(pct(ref, 99))} ms`);
  console.log(
    `\nRSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB, heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`,
  );
} finally {
  cleanup();
}

/**
 * Engine cost of the file-based counters at a real cadence: N cgroups with a quota, the sampler ticking every second
 * with cpustat and psi, /metrics scraped every 15 s, for D seconds. Reports the process's CPU time as a share of one
 * core, tick and scrape durations, and memory.
 *   scripts/node bench/sampler.ts [--cgroups 1000] [--seconds 30]
 * Needs root (makes real cgroups; removes them at the end, also on Ctrl-C).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildConfig } from '../src/config.ts';
import { createSampler } from '../src/sampler/sampler.ts';
import { createMetrics } from '../src/metrics/index.ts';
import { createCpuStatFamily } from '../src/probes/counters/cpustat.ts';
import { createPsiFamily } from '../src/probes/counters/psi.ts';
import { CgroupResolver } from '../src/probes/cgroups.ts';
import { findCpuMount } from '../src/probes/cgroup-mount.ts';
import { createCgroup, type ManagedCgroup } from '../src/demo/cgroup-admin.ts';
import { sampleQuantile } from '../src/quantile.ts';

const { values: args } = parseArgs({
  options: { cgroups: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '30' } },
});
const N = Number(args.cgroups);
const SECONDS = Number(args.seconds);
/** Percentile p (0..100) of the timings. */
const pct = (xs: number[], p: number): number => sampleQuantile(xs, p / 100);

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
  for (let i = 0; i < N; i++) made.push(createCgroup({ name: `${parent.rel.slice(1)}/c${i}`, quotaCores: 0.5, mount }));
  const config = buildConfig({}, {});
  const families = [createCpuStatFamily({ mount })];
  try {
    families.push(createPsiFamily({ mount }));
  } catch (err) {
    console.log(`psi: ${(err as Error).message}`);
  }
  const sampler = createSampler({ families, resolver: new CgroupResolver({ mount }), config });
  const metrics = createMetrics({ sampler, config });
  const ticks: number[] = [];
  const scrapes: number[] = [];
  sampler.onTick(() => {
    /* a subscriber, like the rules engine */
  });
  // Warm-up tick (first walk, files opened), not counted.
  sampler.tick();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (let s = 0; s < SECONDS; s++) {
    const next = wall0 + (s + 1) * 1000;
    let t = performance.now();
    sampler.tick();
    ticks.push(performance.now() - t);
    if (s % 15 === 14) {
      t = performance.now();
      await metrics.scrape();
      scrapes.push(performance.now() - t);
    }
    await sleep(Math.max(0, next - performance.now()));
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - wall0;
  const series = sampler.health().families.reduce((a, f) => a + f.series, 0);
  console.log(
    `${N} cgroups (cgroup v${mount.version}), ${series} series, ${SECONDS} ticks at 1 s, a scrape every 15 s`,
  );
  console.log(
    `process CPU: ${(((cpu.user + cpu.system) / 1000 / wall) * 100).toFixed(2)}% of one core (user ${(cpu.user / 1e3).toFixed(0)} ms, sys ${(cpu.system / 1e3).toFixed(0)} ms over ${(wall / 1e3).toFixed(1)} s)`,
  );
  console.log(
    `tick: p50 ${pct(ticks, 50).toFixed(1)} ms, max ${Math.max(...ticks).toFixed(1)} ms (the max includes a walk of the hierarchy)`,
  );
  if (scrapes.length) console.log(`scrape: ${scrapes.map((x) => x.toFixed(1)).join(', ')} ms`);
  const u = process.memoryUsage();
  console.log(
    `memory: RSS ${(u.rss / 1e6).toFixed(0)} MB, V8 heap used ${(u.heapUsed / 1e6).toFixed(0)} of ${(u.heapTotal / 1e6).toFixed(0)} MB, external ${(u.external / 1e6).toFixed(1)} MB`,
  );
} finally {
  cleanup();
}

/**
 * Kernel test of the runq family: a cgroup capped at 0.1 CPU with a busy loop, competing with another busy process on
 * the same CPU, accumulates run-queue delay and delays over the 5 ms threshold; an idle cgroup (a process that wakes
 * every 50 ms on another CPU) stays near zero over the threshold.
 */
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { kernelTest, objDir } from '../../support/kernel.ts';
import { startRunq } from '../../../src/probes/counters/runq.ts';
import { createCgroup, type ManagedCgroup } from '../../../src/probes/cgroup-admin.ts';
import type { CounterFamily } from '../../../src/probes/counters/types.ts';
import { counterValue, find, gated, histCount, sleep, uniqueName } from './fixtures/workload.ts';

const cleanups: (() => void)[] = [];
after(() => { for (const c of cleanups.reverse()) { try { c(); } catch { /* best effort */ } } });

kernelTest('runq: a throttled busy cgroup shows run-queue delay over the threshold, an idle one does not', async () => {
  const fam: CounterFamily = startRunq(objDir, { thresholdNs: 5e6, maxCgroups: 10240 });
  cleanups.push(() => fam.close());
  const busy: ManagedCgroup = createCgroup({ name: uniqueName('busy'), quotaCores: 0.1, periodUs: 100_000 });
  cleanups.push(() => busy.destroy());
  const idle: ManagedCgroup = createCgroup({ name: uniqueName('idle') });
  cleanups.push(() => idle.destroy());

  const loop = ['taskset', '-c', '0', 'sh', '-c', 'while :; do :; done'];
  const inBusy = gated(loop);
  const rival = gated(loop); // same CPU, no quota: keeps the run queue contended
  const sleeper = gated(['taskset', '-c', '1', 'sh', '-c', 'while :; do sleep 0.05; done']);
  for (const p of [inBusy, rival, sleeper]) cleanups.push(() => p.kill());
  busy.addPid(inBusy.child.pid!);
  idle.addPid(sleeper.child.pid!);
  for (const p of [inBusy, rival, sleeper]) p.go();

  await sleep(3000);
  const readings = fam.read();
  for (const p of [inBusy, rival, sleeper]) p.kill();

  if (process.env.TRIPLINE_TEST_DEBUG) console.log(readings.filter((r) => r.labels.cgroup_id === busy.id || r.labels.cgroup_id === idle.id).map((r) => [r.signal, r.labels.cgroup_id === busy.id ? "busy" : "idle", r.kind === "histogram" ? r.counts.join(",") : r.kind === "counter" ? r.value : ""]));
  const busyHist = find(readings, 'runq_delay_seconds', { cgroup_id: busy.id });
  const busyOver = counterValue(find(readings, 'runq_delay_over_threshold', { cgroup_id: busy.id }));
  const idleOver = counterValue(find(readings, 'runq_delay_over_threshold', { cgroup_id: idle.id }));
  assert.ok(histCount(busyHist) >= 10, `busy cgroup run-queue observations: ${histCount(busyHist)}`);
  // Throttled 90 ms of every 100 ms: most periods end in a delay far above 5 ms.
  assert.ok(busyOver >= 5, `busy cgroup delays over 5 ms: ${busyOver}`);
  assert.ok(idleOver * 5 <= busyOver, `idle cgroup over threshold ${idleOver} vs busy ${busyOver}`);
  assert.ok(busyHist?.kind === 'histogram' && busyHist.sum! > 0.05, 'busy cgroup waited a measurable total time');
  const stats = fam.stats();
  assert.equal(stats.programs, 3);
  assert.equal(stats.dropped, 0);
});

kernelTest('runq: the threshold is a load-time knob (1 s threshold: nothing counted over it)', async () => {
  const fam = startRunq(objDir, { thresholdNs: 1e9, maxCgroups: 10240 });
  cleanups.push(() => fam.close());
  const busy = createCgroup({ name: uniqueName('knob'), quotaCores: 0.1 });
  cleanups.push(() => busy.destroy());
  const p = gated(['taskset', '-c', '0', 'sh', '-c', 'while :; do :; done']);
  cleanups.push(() => p.kill());
  busy.addPid(p.child.pid!);
  p.go();
  await sleep(1500);
  const readings = fam.read();
  p.kill();
  assert.ok(histCount(find(readings, 'runq_delay_seconds', { cgroup_id: busy.id })) >= 3, 'delays observed');
  assert.equal(counterValue(find(readings, 'runq_delay_over_threshold', { cgroup_id: busy.id })), 0);
});

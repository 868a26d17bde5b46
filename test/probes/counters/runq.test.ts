/**
 * Kernel test of the runq family: a cgroup capped at 0.05 CPU with a busy loop, competing with another busy process on
 * the same CPU, accumulates run-queue delay and delays over the 5 ms threshold (one per 100 ms period: throttled for
 * 95 ms); an idle cgroup (one process waking every 200 ms, no forks, so at most 20 delays in 4 s even on a loaded host)
 * stays below it.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelTest, objDir } from '../../support/kernel.ts';
import { startRunq } from '../../../src/probes/counters/runq.ts';
import { createCgroup, type ManagedCgroup } from '../../../src/demo/cgroup-admin.ts';
import type { CounterFamily } from '../../../src/probes/counters/types.ts';
import { counterValue, find, gated, histCount, sleep, uniqueName } from './fixtures/workload.ts';
import { cleanupsAfterAll } from '../../support/cleanups.ts';

const cleanups = cleanupsAfterAll();

kernelTest('runq: a throttled busy cgroup shows run-queue delay over the threshold, an idle one does not', async () => {
  const fam: CounterFamily = startRunq(objDir, { thresholdNs: 5e6, maxCgroups: 10240 });
  cleanups.push(() => fam.close());
  const busy: ManagedCgroup = createCgroup({ name: uniqueName('busy'), quotaCores: 0.05, periodUs: 100_000 });
  cleanups.push(() => busy.destroy());
  const idle: ManagedCgroup = createCgroup({ name: uniqueName('idle') });
  cleanups.push(() => idle.destroy());

  const loop = ['taskset', '-c', '0', 'sh', '-c', 'while :; do :; done'];
  const inBusy = gated(loop);
  const rival = gated(loop); // same CPU, no quota: keeps the run queue contended
  const sleeper = gated(['perl', '-e', 'select(undef, undef, undef, 0.2) while 1']);
  for (const p of [inBusy, rival, sleeper]) cleanups.push(() => p.kill());
  busy.addPid(inBusy.child.pid!);
  idle.addPid(sleeper.child.pid!);
  for (const p of [inBusy, rival, sleeper]) p.go();

  await sleep(4000);
  const readings = fam.read();
  for (const p of [inBusy, rival, sleeper]) p.kill();

  const busyHist = find(readings, 'runq_delay_seconds', { cgroup_id: busy.id });
  const busyOver = counterValue(find(readings, 'runq_delay_over_threshold', { cgroup_id: busy.id }));
  const idleOver = counterValue(find(readings, 'runq_delay_over_threshold', { cgroup_id: idle.id }));
  assert.ok(histCount(busyHist) >= 10, `busy cgroup run-queue observations: ${histCount(busyHist)}`);
  // Throttled 95 ms of every 100 ms: nearly every period ends in a delay far above 5 ms.
  assert.ok(
    busyOver >= 20,
    `busy cgroup delays over 5 ms: ${busyOver} (histogram ${busyHist?.kind === 'histogram' ? busyHist.counts.join(',') : 'absent'})`,
  );
  assert.ok(idleOver < busyOver, `idle cgroup over threshold ${idleOver} vs busy ${busyOver}`);
  const idleHist = find(readings, 'runq_delay_seconds', { cgroup_id: idle.id });
  assert.ok(histCount(idleHist) >= 5, `idle cgroup's wakeups are observed too: ${histCount(idleHist)}`);
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

kernelTest(
  "runq: a new task's first wait is counted (children held off the CPU by their SCHED_FIFO parent)",
  async () => {
    const fam = startRunq(objDir, { thresholdNs: 5e6, maxCgroups: 10240 });
    cleanups.push(() => fam.close());
    const cg = createCgroup({ name: uniqueName('fork') });
    cleanups.push(() => cg.destroy());
    // With RT group scheduling (v1) a new cgroup has no real-time budget: give it 100 ms per second.
    const rt = join(cg.dirs[0]!, 'cpu.rt_runtime_us');
    if (existsSync(rt)) writeFileSync(rt, '100000');
    // The parent, SCHED_FIFO on CPU 0, forks 20 children (SCHED_OTHER by --reset-on-fork, on CPU 0 too), then spins for
    // 50 ms: every child is woken as a new task and waits that long before it first runs, then exits. Nothing else
    // of the cgroup waits over 5 ms (the FIFO parent gets the CPU as soon as it is woken), so every delay over the
    // threshold is a child's first run: the sched_wakeup_new path.
    const N = 20;
    const perl = `my @k; for (1..${N}) { my $p = fork; die "fork: $!" unless defined $p; POSIX::_exit(0) unless $p; push @k, $p }
    my $t = time + 0.05; 1 while time < $t; waitpid($_, 0) for @k;`;
    const p = gated([
      'chrt',
      '--reset-on-fork',
      '--fifo',
      '10',
      'taskset',
      '-c',
      '0',
      'perl',
      '-MPOSIX',
      '-MTime::HiRes=time',
      '-e',
      perl,
    ]);
    cleanups.push(() => p.kill());
    cg.addPid(p.child.pid!);
    p.go();
    const [code] = (await p.exited) as [number];
    assert.equal(code, 0, 'the forking parent ran');
    const readings = fam.read();
    const over = counterValue(find(readings, 'runq_delay_over_threshold', { cgroup_id: cg.id }));
    assert.ok(over >= N, `first waits of new tasks over 5 ms: ${over} (want ${N})`);
    assert.equal(fam.stats().dropped, 0);
  },
);

// The diagnosis on current kernels: throttling measured by the capture itself (cpu.stat) is authoritative, waiting
// on task-based throttling stacks (Linux 6.x) is not contention, and a neighbour is named only above
// NEIGHBOUR_MIN_SHARE of the target's wait. Also the capture's own sampler of the target (liveStats, readTarget) on
// fixture files laid out like cgroup v1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diagnose, isThrottleStack, NEIGHBOUR_MIN_SHARE, type RunqEvidence } from '../../src/capture/diagnosis.ts';
import { buildFindings } from '../../src/capture/findings.ts';
import { liveStats, readTarget, targetFiles } from '../../src/capture/live.ts';
import { windowStats } from '../../src/capture/window.ts';
import { FileReader } from '../../src/probes/counters/file-reader.ts';
import type { LiveSample, LiveStats } from '../../src/bundle/types.ts';
import type { ProbeResult } from '../../src/probes/deep/types.ts';

const T0 = 1_700_000_000_000;
/** Readings a second apart of a cgroup with `quota` cores, throttled in `thr` of 10 periods/s, using `use` cores. */
function series(n: number, quota: number | undefined, thr: number, use: number): LiveSample[] {
  return Array.from({ length: n }, (_, i) => ({
    at: T0 + i * 1000,
    periods: 1000 + i * 10,
    throttledPeriods: 500 + Math.round(i * 10 * thr),
    throttledSeconds: 40 + i * 0.9 * thr,
    usageSeconds: 100 + i * use,
    ...(quota !== undefined ? { quotaCores: quota } : {}),
    pressure: { cpu: { some: 50 + i * 0.3, full: 0 }, memory: { some: 7, full: 7 } },
  }));
}
const live = (n: number, quota: number | undefined, thr: number, use: number): LiveStats =>
  liveStats(series(n, quota, thr, use), 'node');

// The 6.x off-CPU stack of a throttled task (root first, as offcpu reports), as captured on kernel 6.18 from a
// shell loop under a 0.1-core quota: all of its 2.65 s runnable time was on stacks like this one.
const THROTTLE_FRAMES = [
  '[dash]+0x135f0',
  'asm_sysvec_apic_timer_interrupt',
  'irqentry_exit_to_user_mode',
  'task_work_run',
  '__cond_resched',
  '__schedule',
];
const PREEMPT_FRAMES = [
  'main',
  'asm_sysvec_apic_timer_interrupt',
  'irqentry_exit',
  'preempt_schedule_irq',
  '__schedule',
];
const TOKIO: RunqEvidence = {
  delays: 900,
  delaySeconds: 3.5,
  neighbours: [
    { pid: 31337, comm: 'tokio-rt-worker', cgroupId: '77', cgroupPath: '/svc', count: 12, delaySeconds: 0.022 },
  ],
};

test('liveStats: deltas first → last, throttled share of periods, usage, quota, PSI shares with their scope', () => {
  const s = live(5, 0.1, 0.95, 0.1);
  assert.equal(s.samples, 5);
  assert.equal(s.seconds, 4);
  assert.equal(s.cpuPeriods, 40);
  assert.equal(s.throttledPeriods, 38);
  assert.ok(Math.abs(s.throttledRatio! - 0.95) < 1e-9);
  assert.ok(Math.abs(s.usageCores! - 0.1) < 1e-9);
  assert.equal(s.quotaCores, 0.1);
  assert.ok(Math.abs(s.pressure.cpu!.some! - 0.3) < 1e-9);
  assert.equal(s.pressure.memory!.some, 0);
  assert.equal(s.pressureScope, 'node');
  assert.equal(s.series.length, 5);
  const empty = liveStats([]);
  assert.equal(empty.throttledRatio, undefined);
  assert.deepEqual(empty.pressure, {});
});

test('readTarget reads a v1 cgroup through the counter families parsers; PSI from the node, marked node', () => {
  const dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-live-`));
  try {
    const cg = join(dir, 'cpu', 'app');
    const acct = join(dir, 'cpuacct', 'app');
    const psi = join(dir, 'pressure');
    for (const d of [cg, acct, psi]) mkdirSync(d, { recursive: true });
    writeFileSync(join(cg, 'cpu.stat'), 'nr_periods 200\nnr_throttled 190\nthrottled_time 17000000000\n');
    writeFileSync(join(cg, 'cpu.cfs_quota_us'), '10000\n');
    writeFileSync(join(cg, 'cpu.cfs_period_us'), '100000\n');
    writeFileSync(join(acct, 'cpuacct.usage'), '2000000000\n');
    writeFileSync(
      join(psi, 'cpu'),
      'some avg10=1.00 avg60=0 avg300=0 total=3000000\nfull avg10=0 avg60=0 avg300=0 total=0\n',
    );
    const mount = { version: 1 as const, dir: join(dir, 'cpu'), root: '/', cpuacctDir: join(dir, 'cpuacct') };
    const files = targetFiles({ cgroupPath: '/app' }, mount, psi)!;
    assert.equal(files.pressureScope, 'node');
    const s = readTarget(files, new FileReader(), T0);
    assert.deepEqual(s, {
      at: T0,
      periods: 200,
      throttledPeriods: 190,
      throttledSeconds: 17,
      usageSeconds: 2,
      quotaCores: 0.1,
      pressure: { cpu: { some: 3, full: 0 } },
    });
    assert.equal(targetFiles({ cgroupPath: '/gone' }, mount, psi), undefined);
    assert.equal(targetFiles({ cgroupPath: '/app', cgroupId: '1' }, mount, psi), undefined, 'a path of another id');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the 6.x task-based throttling stack is recognised; a preemption stack is not', () => {
  assert.ok(isThrottleStack(THROTTLE_FRAMES));
  assert.ok(isThrottleStack(['main', 'task_work_run', 'throttle_cfs_rq_work', '__schedule']));
  assert.ok(!isThrottleStack(PREEMPT_FRAMES));
});

test('a hand-run capture of a quota-bound loop: cpu.stat throttling wins over "runnable 89%" and a 22 ms neighbour', () => {
  const d = diagnose({
    window: windowStats([]), // no sampler history
    live: live(5, 0.1, 0.95, 0.1),
    runq: TOKIO,
    cgroupId: '4242',
    captureSeconds: 4,
    probeWait: { runnableSeconds: 3.5, throttledSeconds: 3.4, onCpuSeconds: 0.4 },
  });
  assert.equal(d.cause, 'limit-bound', d.summary);
  assert.match(d.summary, /^throttled in 95% of CFS periods while using 0\.1 of its 0\.1-core quota/);
  assert.equal(d.evidence.throttled_from, 'capture');
  const noUsage = diagnose({ window: windowStats([]), live: { ...live(5, 0.1, 0.95, 0.1), usageCores: undefined } });
  assert.match(noUsage.summary, /while using an unmeasured share of its 0\.1-core quota/);
});

test('waiting on throttling stacks is not contention; the tiny neighbour is not named', () => {
  // Throttled in 10% of periods (under THROTTLED_HIGH), nearly all of the runnable time on throttling stacks.
  const d = diagnose({
    window: windowStats([]),
    live: live(5, 2, 0.1, 0.5),
    runq: TOKIO,
    cgroupId: '4242',
    captureSeconds: 4,
    probeWait: { runnableSeconds: 3.5, throttledSeconds: 3.45, onCpuSeconds: 2 },
  });
  assert.equal(d.cause, 'app-bound', d.summary);
  assert.equal(d.evidence.throttle_wait_seconds, 3.45);
  assert.equal(d.evidence.top_neighbour, undefined);
});

test('real waiting with a neighbour under the named share: not contention, nobody blamed', () => {
  const d = diagnose({
    window: windowStats([]),
    live: live(5, undefined, 0, 0.5),
    runq: TOKIO,
    cgroupId: '4242',
    captureSeconds: 4,
    probeWait: { runnableSeconds: 3.5, throttledSeconds: 0, onCpuSeconds: 0.4 },
  });
  assert.equal(d.cause, 'unknown', d.summary);
  assert.match(d.summary, /neither other cgroups \(1%\) nor its own threads \(0%\) ran for 20% of that wait/);
  assert.equal(d.evidence.top_neighbour, undefined);
  assert.ok((d.evidence.top_neighbour_share as number) < NEIGHBOUR_MIN_SHARE);
});

test('contention names the neighbour with its share of the wait; many small ones are contention without a name', () => {
  const heavy: RunqEvidence = {
    delays: 300,
    delaySeconds: 2,
    neighbours: [
      { pid: 9, comm: 'stress', cgroupId: '77', cgroupPath: '/noisy', count: 250, delaySeconds: 1.6 },
      { pid: 8, comm: 'kworker/0:1', cgroupId: '1', cgroupPath: '/', count: 50, delaySeconds: 0.1 },
    ],
  };
  const probeWait = { runnableSeconds: 2, throttledSeconds: 0, onCpuSeconds: 0.5 };
  const d = diagnose({ window: windowStats([]), runq: heavy, cgroupId: '4242', captureSeconds: 3, probeWait });
  assert.equal(d.cause, 'contention', d.summary);
  assert.match(
    d.summary,
    /other cgroups ran for 85% of that wait, mostly pid 9 \(stress\) in \/noisy \(80% of the wait\)$/,
  );
  const spread: RunqEvidence = {
    delays: 300,
    delaySeconds: 2,
    neighbours: Array.from({ length: 8 }, (_, i) => ({
      pid: 100 + i,
      comm: `job${i}`,
      cgroupId: String(500 + i),
      cgroupPath: `/job${i}`,
      count: 30,
      delaySeconds: 0.15,
    })),
  };
  const e = diagnose({ window: windowStats([]), runq: spread, cgroupId: '4242', captureSeconds: 3, probeWait });
  assert.equal(e.cause, 'contention', e.summary);
  assert.match(e.summary, /other cgroups ran for 60% of that wait, none of them for 20% of it alone$/);
  assert.equal(e.evidence.top_neighbour, undefined);
});

test('eight threads on one CPU and no neighbour: self-contention', () => {
  const own: RunqEvidence = {
    delays: 2000,
    delaySeconds: 20.8,
    neighbours: [1, 2, 3, 4, 5, 6, 7, 8].map((i) => ({
      pid: 200 + i,
      comm: 'spin',
      cgroupId: '4242',
      cgroupPath: '/app',
      count: 250,
      delaySeconds: 1.4,
    })),
  };
  const d = diagnose({
    window: windowStats([]),
    live: live(4, undefined, 0, 1),
    runq: own,
    cgroupId: '4242',
    captureSeconds: 3,
    // Real figures of eight spinners on one CPU over 3 s: 21 s runnable (summed over the threads), 3 s on CPU.
    probeWait: { runnableSeconds: 21, throttledSeconds: 0, onCpuSeconds: 3 },
  });
  assert.equal(d.cause, 'self-contention', d.summary);
  assert.match(
    d.summary,
    /^runnable but waiting 88% of the time behind its own threads \(53% of the wait; other cgroups 0%\)/,
  );
  assert.match(d.summary, /\(on average 8 runnable threads for 1 core used\)/);
});

test('findings: offcpu runnable time on 6.x throttling stacks is set apart; findings.live and its headline', () => {
  const base = { startedAt: T0, endedAt: T0 + 4000, partial: false, events: 1, dropped: 0, errors: [], redactions: [] };
  const results: ProbeResult[] = [
    {
      ...base,
      probe: 'offcpu',
      summary: { runnableSeconds: 3.5 },
      stacks: [
        { frames: THROTTLE_FRAMES, weight: 3.4, unit: 'seconds', reason: 'runnable', comm: 'loop' },
        { frames: PREEMPT_FRAMES, weight: 0.1, unit: 'seconds', reason: 'runnable', comm: 'loop' },
      ],
    },
    { ...base, probe: 'profile', summary: { samples: 40, frequencyHz: 99 } },
    { ...base, probe: 'runqslower', summary: { delays: 900, totalDelaySeconds: 3.5, neighbours: TOKIO.neighbours } },
  ];
  const l = live(5, 0.1, 0.95, 0.1);
  const { findings, errors } = buildFindings({
    results,
    cgroupId: '4242',
    before: [],
    during: [],
    captureSeconds: 4,
    live: l,
  });
  assert.deepEqual(errors, []);
  assert.equal(findings.diagnosis?.cause, 'limit-bound');
  assert.equal(findings.diagnosis?.evidence.throttle_wait_seconds, 3.4);
  assert.equal(findings.live, l);
  assert.ok(
    findings.headlines.some((h) =>
      /^measured during the capture \(5 readings of cpu\.stat over 4 s\): throttled in 95% of 40 CFS periods, 0\.1 cores used of a 0\.1-core quota, CPU pressure 30% \(node level\)$/.test(
        h,
      ),
    ),
    findings.headlines.join('\n'),
  );
});

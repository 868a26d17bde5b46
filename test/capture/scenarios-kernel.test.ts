// Kernel tier: the CPU diagnosis of three real workloads (diag-work, scenario-support.ts), each through both paths
// (`tripline capture` and an engine trip). Asserts the cause and the culprit:
// - quota-bound: one spinning thread under a 0.1-core quota → limit-bound, throttling read from cpu.stat;
// - victim + heavy neighbour on one CPU (no quota) → contention, naming the neighbour's cgroup with its share;
// - eight spinning threads pinned to one CPU, no neighbour → self-contention.
import assert from 'node:assert/strict';
import { cgroupTest } from '../support/cgroups.ts';
import { hostLock, idlestCpu } from '../e2e/support.ts';
import { bothPaths, bpfOrSkip, runIn, scenarioWorld } from './scenario-support.ts';

const { root, work } = scenarioWorld();
const CPU_PROBES = { probes: ['runqslower', 'offcpu', 'profile'] };

cgroupTest(
  'scenario quota-bound: a spinning thread under a 0.1-core quota is limit-bound on both paths, from cpu.stat',
  async (fx, t) => {
    if (!bpfOrSkip(t)) return;
    const cg = fx.cgroup('quota', { quotaCores: 0.1 });
    runIn(fx, cg, work(), 'spin 1');
    await bothPaths(t, root, cg, [cg.rel], CPU_PROBES, (f, path) => {
      assert.equal(f.diagnosis?.cause, 'limit-bound', `${path}: ${JSON.stringify(f.diagnosis)}`);
      assert.equal(f.diagnosis!.evidence.throttled_from, 'capture');
      // 0.1 core of demand 1: throttled in nearly every period; a loaded machine lowers it, never under half.
      assert.ok(f.live!.throttledRatio! > 0.5, JSON.stringify(f.live));
      assert.ok(f.live!.usageCores! < 0.2, JSON.stringify(f.live));
      assert.equal(f.live!.quotaCores, 0.1);
      assert.ok(f.live!.samples >= 3, `readings at start, each second, end: ${f.live!.samples}`);
      assert.equal(f.live!.pressureScope, 'node');
    });
  },
  { timeout: 120_000 },
);

cgroupTest(
  'scenario neighbour: a victim beside four spinning threads of another cgroup on one CPU is contention, naming it',
  async (fx, t) => {
    if (!bpfOrSkip(t)) return;
    const release = await hostLock('contention', 150_000);
    try {
      const cpu = await idlestCpu();
      const victim = fx.cgroup('victim');
      const noisy = fx.cgroup('noisy');
      runIn(fx, noisy, work(), 'spin 4', cpu);
      runIn(fx, victim, work(), 'spin 1', cpu);
      await bothPaths(t, root, victim, [victim.rel, noisy.rel], CPU_PROBES, (f, path) => {
        assert.equal(f.diagnosis?.cause, 'contention', `${path}: ${JSON.stringify(f.diagnosis)}`);
        // The victim gets ~1/5 of the CPU: it waits most of its runnable time, and the named neighbour is the
        // noisy cgroup's spinner with a real share of that wait (other loads of this shared host take some).
        assert.ok((f.diagnosis!.evidence.wait_share as number) > 0.4, JSON.stringify(f.diagnosis!.evidence));
        assert.match(String(f.diagnosis!.evidence.top_neighbour), new RegExp(`\\(diag-work\\).* in ${noisy.rel}$`));
        assert.ok((f.diagnosis!.evidence.top_neighbour_share as number) >= 0.2);
        assert.match(f.diagnosis!.summary, /, mostly pid \d+ \(diag-work\).* \(\d+% of the wait\)$/);
      });
    } finally {
      release?.();
    }
  },
  { timeout: 300_000 },
);

cgroupTest(
  'scenario self-contention: eight spinning threads pinned to one CPU, no neighbour',
  async (fx, t) => {
    if (!bpfOrSkip(t)) return;
    const release = await hostLock('contention', 150_000);
    try {
      const cpu = await idlestCpu();
      const cg = fx.cgroup('eight');
      runIn(fx, cg, work(), 'spin 8', cpu);
      await bothPaths(t, root, cg, [cg.rel], CPU_PROBES, (f, path) => {
        assert.equal(f.diagnosis?.cause, 'self-contention', `${path}: ${JSON.stringify(f.diagnosis)}`);
        const ev = f.diagnosis!.evidence;
        assert.ok((ev.wait_share as number) > 0.5, JSON.stringify(ev));
        assert.ok((ev.own_share_of_wait as number) > (ev.others_share_of_wait as number), JSON.stringify(ev));
        // Eight threads always runnable on one CPU: about eight runnable on average, well over the one core used.
        assert.ok((ev.runnable_threads_mean as number) > 4, JSON.stringify(ev));
        assert.equal(f.live!.throttledPeriods ?? 0, 0);
      });
    } finally {
      release?.();
    }
  },
  { timeout: 300_000 },
);

// Kernel tier: the causes beyond the CPU on real workloads (diag-work, scenario-support.ts), each through both paths
// (`tripline capture` and an engine trip), asserting the cause and the culprit:
// - threads fighting over one mutex → lock-contention, the waiting stack (up to the thread's function), the lock
//   and its holder;
// - a writer calling fdatasync after each 4 KiB write → io-bound, naming the syscall and the fd;
// - a tight loop of getppid → syscall-storm, naming getppid, its rate and the calling function;
// - one thread in a hot function → app-bound, naming hot_named_function with its share of samples;
// - the mutex under a 0.2-core quota → limit-bound and lock-contention both named.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cgroupTest } from '../support/cgroups.ts';
import { hostLock, idlestCpu } from '../e2e/support.ts';
import { bothPaths, bpfOrSkip, runIn, scenarioWorld } from './scenario-support.ts';
import type { Findings } from '../../src/bundle/types.ts';

const { root, work } = scenarioWorld();
const ALL = { probes: ['offcpu', 'profile', 'runqslower', 'syscalls', 'io'] };

const causes = (f: Findings): string[] => [f.diagnosis?.cause ?? '', ...(f.diagnosis?.also ?? []).map((a) => a.cause)];

cgroupTest(
  'scenario lock: four threads over one mutex are lock-contention, with the waiting stack and the lock',
  async (fx, t) => {
    if (!bpfOrSkip(t)) return;
    const release = await hostLock('contention', 150_000);
    try {
      const cg = fx.cgroup('mutex');
      runIn(fx, cg, work(), 'mutex 4');
      await bothPaths(t, root, cg, [cg.rel], ALL, (f, path) => {
        const d = f.diagnosis!;
        assert.equal(d.cause, 'lock-contention', `${path}: ${JSON.stringify(d)}`);
        assert.match(d.lead!, /^lock contention: \d+% of off-CPU time in futex/);
        assert.match(d.culprit!, /hold_lock_and_work|locker/, String(d.culprit));
        // The lock: its address, several waiting threads, and its holder, a thread of the same process.
        assert.match(
          d.culprit!,
          /lock 0x[0-9a-f]+ in pid \d+: \d+ waits by [2-4] threads, held by tid \d+ \(diag-work\)/,
        );
        assert.ok((d.evidence.lock_share_of_busy as number) >= 0.2, JSON.stringify(d.evidence));
        assert.match(d.advice!, /critical section/);
      });
    } finally {
      release?.();
    }
  },
  { timeout: 300_000 },
);

cgroupTest(
  'scenario fsync: a writer flushing after each small write is io-bound, naming fdatasync and its fd',
  async (fx, t) => {
    if (!bpfOrSkip(t)) return;
    // One thread on the idlest CPU, no other scenario beside it: a preempted workload is contention, rightly.
    const release = await hostLock('contention', 150_000);
    t.after(() => release?.());
    const cg = fx.cgroup('fsync');
    runIn(fx, cg, work(), `fsync '${join(root, 'journal.dat')}'`, await idlestCpu());
    await bothPaths(t, root, cg, [cg.rel], { ...ALL, above: 0.005 }, (f, path) => {
      const d = f.diagnosis!;
      assert.equal(d.cause, 'io-bound', `${path}: ${JSON.stringify(d)}`);
      // Paths are redacted by default (capture.redact); the syscall, fd and process are always named.
      assert.match(d.culprit!, /^fdatasync on fd \d+ \(<redacted>\) in pid \d+: \d+ slow calls/, String(d.culprit));
      assert.match(d.lead!, /^I\/O-bound: \d+% of busy time blocked on I\/O — fdatasync on fd/);
      assert.ok((d.evidence.io_share_of_busy as number) >= 0.2, JSON.stringify(d.evidence));
    });
  },
  { timeout: 300_000 },
);

cgroupTest(
  'scenario storm: a tight loop of getppid is a syscall storm, with the rate and the calling function',
  async (fx, t) => {
    if (!bpfOrSkip(t)) return;
    // One thread on the idlest CPU, no other scenario beside it: a preempted workload is contention, rightly.
    const release = await hostLock('contention', 150_000);
    t.after(() => release?.());
    const cg = fx.cgroup('storm');
    runIn(fx, cg, work(), 'getppid', await idlestCpu());
    await bothPaths(t, root, cg, [cg.rel], ALL, (f, path) => {
      const d = f.diagnosis!;
      assert.equal(d.cause, 'syscall-storm', `${path}: ${JSON.stringify(d)}`);
      assert.match(
        d.culprit!,
        /^getppid at [\d.]+k\/s \([\d.]+ µs each in the kernel\) from .*storm_getppid/,
        String(d.culprit),
      );
      assert.match(
        d.lead!,
        /^syscall storm: getppid at [\d.]+k\/s \([\d.]+ µs each in the kernel\), \d+% of busy time in the call/,
      );
    });
  },
  { timeout: 300_000 },
);

cgroupTest(
  'scenario hot function: one thread in a named function is CPU app-bound, naming it with its share',
  async (fx, t) => {
    if (!bpfOrSkip(t)) return;
    // One thread on the idlest CPU, no other scenario beside it: a preempted workload is contention, rightly.
    const release = await hostLock('contention', 150_000);
    t.after(() => release?.());
    const cg = fx.cgroup('hot');
    runIn(fx, cg, work(), 'hot', await idlestCpu());
    await bothPaths(t, root, cg, [cg.rel], ALL, (f, path) => {
      const d = f.diagnosis!;
      assert.equal(d.cause, 'app-bound', `${path}: ${JSON.stringify(d)}`);
      assert.match(d.culprit!, /^hot_named_function \((\d+)% of samples\)$/, String(d.culprit));
      assert.ok(Number(/\((\d+)%/.exec(d.culprit!)![1]) >= 80, String(d.culprit));
      assert.match(d.lead!, /^CPU app-bound: \d+% of on-CPU samples in hot_named_function/);
    });
  },
  { timeout: 300_000 },
);

cgroupTest(
  'scenario mixed: the mutex under a 0.2-core quota names both limit-bound and lock-contention',
  async (fx, t) => {
    if (!bpfOrSkip(t)) return;
    const release = await hostLock('contention', 150_000);
    try {
      const cg = fx.cgroup('mixed', { quotaCores: 0.2 });
      runIn(fx, cg, work(), 'mutex 4');
      await bothPaths(t, root, cg, [cg.rel], ALL, (f, path) => {
        const all = causes(f);
        assert.ok(
          all.includes('limit-bound') && all.includes('lock-contention'),
          `${path}: ${JSON.stringify(f.diagnosis)}`,
        );
        assert.equal(f.live!.quotaCores, 0.2);
        const lock =
          f.diagnosis!.cause === 'lock-contention'
            ? f.diagnosis!.culprit
            : f.diagnosis!.also!.find((a) => a.cause === 'lock-contention')!.culprit;
        assert.match(lock!, /hold_lock_and_work|locker/);
      });
    } finally {
      release?.();
    }
  },
  { timeout: 300_000 },
);

/**
 * Kernel test of the syscalls family's per-cgroup twin and its watch list: every cgroup's slow file syscalls are
 * counted without any watch list (`syscall_slow_calls`), ranking a cgroup whose reads wait 2 ms on a pipe above one
 * doing fast reads, and leaving out waits by design (pselect6); a configured watch path that does not exist at start
 * is watched once it appears (read back from the kernel map).
 */
import assert from 'node:assert/strict';
import { kernelTest, objDir } from '../../support/kernel.ts';
import { startSyscalls } from '../../../src/probes/counters/syscalls.ts';
import { createCgroup } from '../../../src/demo/cgroup-admin.ts';
import { rankContributors } from '../../../src/rules/contributors.ts';
import { counterValue, find, gated, histCount, uniqueName } from './fixtures/workload.ts';
import { cleanupsAfterAll } from '../../support/cleanups.ts';

const cleanups = cleanupsAfterAll();

/** 300 reads of a pipe, each waiting ~2 ms for the byte a forked writer sends after sleeping (slow read() calls). */
export const SLOW_READS = 300;
const SLOW = [
  'perl',
  '-e',
  `pipe(R, W); if (!fork) { close R; for (1 .. ${SLOW_READS}) { select(undef, undef, undef, 0.002); syswrite W, "x" } exit } close W; 1 while sysread R, $b, 1`,
];
/** 100,000 one-byte reads and writes: fast calls. */
const FAST = ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=100000'];
/** 300 sleeps of 2 ms in pselect6: slow, but a wait by design, not counted. */
const SLEEPER = ['perl', '-e', 'select(undef, undef, undef, 0.002) for 1 .. 300'];

kernelTest(
  'syscalls twin: every cgroup’s slow file syscalls, unwatched; slow reads outrank fast ones, waits count not',
  async () => {
    const fam = startSyscalls(objDir);
    cleanups.push(() => fam.close());
    const slow = createCgroup({ name: uniqueName('slow') });
    cleanups.push(() => slow.destroy());
    const fast = createCgroup({ name: uniqueName('fast') });
    cleanups.push(() => fast.destroy());
    const sleeper = createCgroup({ name: uniqueName('sleeper') });
    cleanups.push(() => sleeper.destroy());
    const a = gated(SLOW);
    const b = gated(FAST);
    const c = gated(SLEEPER);
    for (const p of [a, b, c]) cleanups.push(() => p.kill());
    slow.addPid(a.child.pid!);
    fast.addPid(b.child.pid!);
    sleeper.addPid(c.child.pid!);
    for (const p of [a, b, c]) p.go();
    await Promise.all([a.exited, b.exited, c.exited]);
    const readings = fam.read();

    const slowN = counterValue(find(readings, 'syscall_slow_calls', { cgroup_id: slow.id }));
    const fastN = counterValue(find(readings, 'syscall_slow_calls', { cgroup_id: fast.id }));
    const sleeperN = counterValue(find(readings, 'syscall_slow_calls', { cgroup_id: sleeper.id }));
    // Each read waits ~2 ms; a few may find the byte already there (the writer ran first).
    assert.ok(slowN >= SLOW_READS * 0.8 && slowN <= SLOW_READS + 50, `slow cgroup: ${slowN} slow calls`);
    assert.ok(fastN < slowN / 10, `fast cgroup: ${fastN} slow calls, slow ${slowN}`);
    assert.ok(sleeperN < 10, `pselect6 is a wait, not counted: ${sleeperN}`);
    assert.equal(
      readings.filter((r) => r.signal === 'cgroup_syscall_latency_seconds').length,
      0,
      'no watch list: no per-cgroup histograms, the twin needs none',
    );
    const ranked = rankContributors(
      readings
        .filter((r) => r.signal === 'syscall_slow_calls' && r.kind === 'counter')
        .map((r) => ({
          cgroupId: r.labels.cgroup_id,
          cgroup: r.labels.cgroup_id === slow.id ? slow.rel : r.labels.cgroup_id === fast.id ? fast.rel : '/other',
          value: r.kind === 'counter' ? r.value : 0,
        })),
      8,
      0,
    );
    const order = ranked.map((c) => c.cgroupId).filter((id) => id === slow.id || id === fast.id);
    assert.equal(order[0], slow.id, 'the slow cgroup ranks above the fast one');
  },
);

kernelTest(
  'syscalls: a configured watch path created after start is watched after the next re-resolution (kernel map read back)',
  async () => {
    const name = uniqueName('later');
    const fam = startSyscalls(objDir, { cgroupPaths: [name], pids: [] }, undefined, { rescanMs: 0 });
    cleanups.push(() => fam.close());
    assert.deepEqual(fam.watching!().cgroupIds, [], 'nothing to watch yet');
    const cg = createCgroup({ name });
    cleanups.push(() => cg.destroy());
    fam.read(); // the re-resolution runs on a read
    assert.deepEqual(fam.watching!().cgroupIds, [BigInt(cg.id)], 'the path is watched once it exists');

    // Run-time entries join the configured ones and leave without touching them.
    const extra = createCgroup({ name: uniqueName('extra') });
    cleanups.push(() => extra.destroy());
    fam.watch!({ cgroupIds: [BigInt(extra.id)] });
    assert.deepEqual(
      fam.watching!().cgroupIds.sort(),
      [BigInt(cg.id), BigInt(extra.id)].sort(),
      'configured and run-time entries',
    );
    fam.watch!({});
    assert.deepEqual(fam.watching!().cgroupIds, [BigInt(cg.id)], 'the configured path stays');

    const p = gated(['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=5000']);
    cleanups.push(() => p.kill());
    cg.addPid(p.child.pid!);
    p.go();
    await p.exited;
    const n = histCount(find(fam.read(), 'cgroup_syscall_latency_seconds', { cgroup_id: cg.id, syscall: 'read' }));
    assert.ok(n >= 5000, `the late path's read() count ${n}`);
  },
);

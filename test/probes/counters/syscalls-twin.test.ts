/**
 * Kernel test of the syscalls family's per-cgroup twin and its watch list: every cgroup's time in syscalls is kept
 * without any watch list (`syscall_time_seconds`), and ranks a cgroup whose calls sleep 2 ms above one doing fast
 * reads; a configured watch path that does not exist at start is watched once it appears (read back from the kernel
 * map).
 */
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { kernelTest, objDir } from '../../support/kernel.ts';
import { startSyscalls } from '../../../src/probes/counters/syscalls.ts';
import { createCgroup } from '../../../src/demo/cgroup-admin.ts';
import { rankContributors } from '../../../src/rules/contributors.ts';
import { counterValue, find, gated, histCount, uniqueName } from './fixtures/workload.ts';

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.reverse()) {
    try {
      c();
    } catch {
      /* best effort */
    }
  }
});

/** 300 calls of pselect6 sleeping 2 ms each: ~0.6 s in syscalls, little CPU. */
const SLOW = ['perl', '-e', 'select(undef, undef, undef, 0.002) for 1 .. 300'];
/** 100,000 one-byte reads and writes: fast calls, well under 0.2 s in syscalls. */
const FAST = ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=100000'];

kernelTest('syscalls twin: every cgroup’s time in syscalls, unwatched; slow calls outrank many fast ones', async () => {
  const fam = startSyscalls(objDir);
  cleanups.push(() => fam.close());
  const slow = createCgroup({ name: uniqueName('slow') });
  cleanups.push(() => slow.destroy());
  const fast = createCgroup({ name: uniqueName('fast') });
  cleanups.push(() => fast.destroy());
  const a = gated(SLOW);
  const b = gated(FAST);
  for (const p of [a, b]) cleanups.push(() => p.kill());
  slow.addPid(a.child.pid!);
  fast.addPid(b.child.pid!);
  a.go();
  b.go();
  await Promise.all([a.exited, b.exited]);
  const readings = fam.read();

  const slowS = counterValue(find(readings, 'syscall_time_seconds', { cgroup_id: slow.id }));
  const fastS = counterValue(find(readings, 'syscall_time_seconds', { cgroup_id: fast.id }));
  assert.ok(slowS >= 0.55 && slowS < 5, `slow cgroup: ${slowS} s in syscalls (300 x 2 ms)`);
  assert.ok(fastS > 0 && fastS < slowS / 3, `fast cgroup: ${fastS} s in syscalls, slow ${slowS} s`);
  assert.equal(
    readings.filter((r) => r.signal === 'cgroup_syscall_latency_seconds').length,
    0,
    'no watch list: no per-cgroup histograms, the twin needs none',
  );
  const ranked = rankContributors(
    readings
      .filter((r) => r.signal === 'syscall_time_seconds' && r.kind === 'counter')
      .map((r) => ({
        cgroupId: r.labels.cgroup_id,
        cgroup: r.labels.cgroup_id === slow.id ? slow.rel : r.labels.cgroup_id === fast.id ? fast.rel : '/other',
        value: r.kind === 'counter' ? r.value : 0,
      })),
    8,
    0,
  );
  const order = ranked.map((c) => c.cgroupId).filter((id) => id === slow.id || id === fast.id);
  assert.deepEqual(order, [slow.id, fast.id], 'the slow cgroup ranks above the fast one');
});

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

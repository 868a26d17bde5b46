/**
 * Kernel test of the syscalls family: a 1-byte read() loop (dd) shows in the system-wide `read` histogram, and
 * watching its cgroup (or its pid) yields the per-cgroup histogram for it; unwatched cgroups get none.
 */
import assert from 'node:assert/strict';
import { kernelTest, objDir } from '../../support/kernel.ts';
import { startSyscalls } from '../../../src/probes/counters/syscalls.ts';
import { createCgroup } from '../../../src/demo/cgroup-admin.ts';
import { find, gated, histCount, uniqueName } from './fixtures/workload.ts';
import { cleanupsAfterAll } from '../../support/cleanups.ts';

const READS = 200_000;
const dd = (count: number): string[] => ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${count}`];
const cleanups = cleanupsAfterAll();

kernelTest(
  'syscalls: a read() loop shows in the read histogram; its watched cgroup gets a per-cgroup histogram',
  async () => {
    const fam = startSyscalls(objDir);
    cleanups.push(() => fam.close());
    const watched = createCgroup({ name: uniqueName('watched') });
    cleanups.push(() => watched.destroy());
    const other = createCgroup({ name: uniqueName('other') });
    cleanups.push(() => other.destroy());
    fam.watch!({ cgroupIds: [BigInt(watched.id)] });

    const a = gated(dd(READS));
    const b = gated(dd(1000)); // unwatched
    for (const p of [a, b]) cleanups.push(() => p.kill());
    watched.addPid(a.child.pid!);
    other.addPid(b.child.pid!);
    a.go();
    b.go();
    await Promise.all([a.exited, b.exited]);
    const readings = fam.read();

    const all = histCount(find(readings, 'syscall_latency_seconds', { syscall: 'read' }));
    assert.ok(all >= READS, `system-wide read() count ${all} >= ${READS}`);
    const mine = find(readings, 'cgroup_syscall_latency_seconds', { cgroup_id: watched.id, syscall: 'read' });
    // dd reads once per byte, plus a few reads while loading.
    assert.ok(
      histCount(mine) >= READS && histCount(mine) < READS + 1000,
      `watched cgroup read() count ${histCount(mine)}`,
    );
    assert.ok(mine?.kind === 'histogram' && mine.sum! > 0 && mine.sum! < 60, 'latency sum in seconds');
    assert.ok(
      find(readings, 'cgroup_syscall_latency_seconds', { cgroup_id: watched.id, syscall: 'write' }),
      'write() of the same loop',
    );
    const stray = readings.filter(
      (r) => r.signal === 'cgroup_syscall_latency_seconds' && r.labels.cgroup_id !== watched.id,
    );
    assert.deepEqual(
      stray.map((r) => r.labels),
      [],
      'only the watched cgroup has per-cgroup series',
    );
  },
);

kernelTest(
  'syscalls: watching a pid records it under its cgroup; an emptied watch list records nothing more',
  async () => {
    const fam = startSyscalls(objDir);
    cleanups.push(() => fam.close());
    const cg = createCgroup({ name: uniqueName('pid') });
    cleanups.push(() => cg.destroy());
    const p = gated(dd(20_000));
    cleanups.push(() => p.kill());
    cg.addPid(p.child.pid!);
    fam.watch!({ pids: [p.child.pid!] });
    p.go();
    await p.exited;
    const first = histCount(find(fam.read(), 'cgroup_syscall_latency_seconds', { cgroup_id: cg.id, syscall: 'read' }));
    assert.ok(first >= 20_000, `watched pid read() count ${first}`);

    fam.watch!({});
    const q = gated(dd(5_000));
    cleanups.push(() => q.kill());
    cg.addPid(q.child.pid!);
    q.go();
    await q.exited;
    const second = histCount(find(fam.read(), 'cgroup_syscall_latency_seconds', { cgroup_id: cg.id, syscall: 'read' }));
    assert.equal(second, first, 'unwatched: per-cgroup histogram unchanged');
  },
);

kernelTest(
  'syscalls: watching a parent cgroup (a pod) covers processes in its child cgroups (containers), under the parent id',
  async () => {
    const fam = startSyscalls(objDir);
    cleanups.push(() => fam.close());
    const pod = createCgroup({ name: uniqueName('pod') });
    cleanups.push(() => pod.destroy());
    const container = createCgroup({ name: `${pod.rel.slice(1)}/ctr` });
    cleanups.push(() => container.destroy());
    fam.watch!({ cgroupIds: [BigInt(pod.id)] });
    const p = gated(dd(10_000));
    cleanups.push(() => p.kill());
    container.addPid(p.child.pid!);
    p.go();
    await p.exited;
    const readings = fam.read();
    assert.ok(
      histCount(find(readings, 'cgroup_syscall_latency_seconds', { cgroup_id: pod.id, syscall: 'read' })) >= 10_000,
      'recorded under the watched parent',
    );
    assert.equal(
      find(readings, 'cgroup_syscall_latency_seconds', { cgroup_id: container.id }),
      undefined,
      'not under the child id',
    );
  },
);

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { kernelTest } from '../../support/kernel.ts';
import { createCgroup, type ManagedCgroup } from '../../../src/demo/cgroup-admin.ts';
import {
  aggregateNeighbours,
  decodeRunqDelay,
  runqslower,
  RUNQSLOWER_EVENT_SIZE,
} from '../../../src/probes/deep/runqslower.ts';
import { budget, compileC, probeContext, sleep, uniqueName } from './support.ts';

test('runqslower event decoder reads the C layout', () => {
  const b = Buffer.alloc(RUNQSLOWER_EVENT_SIZE);
  b.writeBigUInt64LE(5_000_000n, 0);
  b.writeUInt32LE(10, 8);
  b.writeUInt32LE(10, 12);
  b.writeUInt32LE(1, 16);
  b.writeUInt32LE(1, 20);
  b.write('victim', 24);
  b.writeUInt32LE(20, 40);
  b.writeUInt32LE(20, 44);
  b.writeBigUInt64LE(777n, 48);
  b.writeBigUInt64LE(4_000_000n, 56);
  b.write('noisy', 64);
  const d = decodeRunqDelay(b);
  assert.deepEqual(d, {
    delayNs: 5_000_000n,
    pid: 10,
    tgid: 10,
    cpu: 1,
    comm: 'victim',
    neighbours: [{ pid: 20, tgid: 20, cgroupId: '777', ranNs: 4_000_000n, comm: 'noisy' }],
  });
  assert.throws(() => decodeRunqDelay(Buffer.alloc(199)), RangeError);
  const nb = aggregateNeighbours([d, d], (id) => `/cg-${id}`);
  assert.deepEqual(nb, [
    { pid: 20, comm: 'noisy', cgroupId: '777', cgroupPath: '/cg-777', count: 2, delaySeconds: 0.008 },
  ]);
});

const w = compileC('int main(void) { volatile unsigned long x = 0; for (;;) x++; }');
const victimBin = join(dirname(w.bin), 'tl-victim');
const noisyBin = join(dirname(w.bin), 'tl-noisy');
copyFileSync(w.bin, victimBin);
copyFileSync(w.bin, noisyBin);
const cleanups: (() => void)[] = [() => w.cleanup()];
after(() => {
  for (const c of cleanups.reverse()) c();
});

kernelTest(
  'runqslower names the busy neighbour pinned on the same CPU, with its cgroup',
  async () => {
    const name = uniqueName();
    const victimCg: ManagedCgroup = createCgroup({ name: `${name}-victim` });
    cleanups.push(() => victimCg.destroy());
    const noisyCg: ManagedCgroup = createCgroup({ name: `${name}-noisy` });
    cleanups.push(() => noisyCg.destroy());
    const kids: ChildProcess[] = [];
    cleanups.push(() => {
      for (const k of kids) k.kill('SIGKILL');
    });
    // Both CPU-bound and pinned to CPU 0: each waits for the other's slices.
    const noisy = spawn('taskset', ['-c', '0', noisyBin], { stdio: 'ignore' });
    kids.push(noisy);
    noisyCg.addPid(noisy.pid!);
    const victim = spawn('taskset', ['-c', '0', victimBin], { stdio: 'ignore' });
    kids.push(victim);
    victimCg.addPid(victim.pid!);
    await sleep(200);

    const running = runqslower
      .prepare(probeContext({ threshold_ms: 0.5 }))
      .start({ cgroupId: BigInt(victimCg.id), cgroupPath: victimCg.path }, budget());
    await sleep(2000);
    const r = await running.stop();
    for (const k of kids) k.kill('SIGKILL');

    const s = runqslower.summary.parse(r.summary);
    assert.ok(s.delays >= 5, `delays over 0.5 ms: ${s.delays}`);
    // Other work on this shared machine may also run on CPU 0 (and even outweigh it): the spinner must be named,
    // with its cgroup, and hold a real share of the waits.
    const nb = s.neighbours.find((n) => n.pid === noisy.pid);
    assert.ok(nb, `the spinner is a neighbour: ${JSON.stringify(s.neighbours.slice(0, 5))}`);
    assert.equal(nb.comm, 'tl-noisy');
    assert.equal(nb.cgroupId, noisyCg.id);
    assert.equal(nb.cgroupPath, noisyCg.path);
    assert.ok(nb.count >= 3 && nb.delaySeconds > 0.01, JSON.stringify(nb));
    assert.ok(
      r.records!.every((rec) => rec.comm === 'tl-victim'),
      "only the target's delays",
    );
    assert.ok(
      s.neighbours.every((n) => n.comm !== 'tl-victim'),
      'the target is never its own neighbour',
    );
  },
  { timeout: 60_000 },
);

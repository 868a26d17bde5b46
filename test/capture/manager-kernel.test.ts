// Kernel tier: the capture manager with the real deep probes. Trip to attached is recorded, the probes' in-kernel
// CPU is measured (run-time statistics held on while captures run) and a capture past the CPU cap is cut.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { kernelTest, objDir } from '../support/kernel.ts';
import { CaptureManager } from '../../src/capture/manager.ts';
import { deepProbes } from '../../src/probes/deep/index.ts';
import { enableStats } from '../../src/probes/libbpf.ts';
import { validateBundle } from '../../src/bundle/validate.ts';

const root = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-capture-kernel-`));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});
function busy(): number {
  const c = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
  children.push(c);
  return c.pid!;
}

// The real enableStats, counted: the manager must hold it exactly while captures run.
const held = { opened: 0, closed: 0 };
const countedStats = () => {
  const h = enableStats();
  held.opened++;
  return {
    close: () => {
      held.closed++;
      h.close();
    },
  };
};
const manager = (maxCpuPercent: number) =>
  new CaptureManager({
    registry: deepProbes,
    objDir,
    redact: true,
    bundlesDir: root,
    maxConcurrent: 2,
    maxCpuPercent,
    defaultDurationMs: 2000,
    enableStats: countedStats,
    warm: ['profile', 'offcpu', 'syscalls'],
  });

kernelTest(
  'real probes: attached from the warm pool, CPU measured, bundle valid, run-time stats held only during the capture',
  async () => {
    const pid = busy();
    const m = manager(400);
    m.start();
    assert.deepEqual([...m.unavailable], []);
    try {
      const ref = await m.capture({
        target: { pids: [pid] },
        probes: ['profile', 'offcpu', 'syscalls'],
        durationMs: 1500,
      });
      const check = await validateBundle(ref.dir);
      assert.deepEqual(check.problems, []);
      const mf = check.manifest!;
      assert.equal(mf.partial, false);
      assert.deepEqual(
        mf.probes.map((p) => p.status),
        ['ok', 'ok', 'ok'],
      );
      assert.ok(
        mf.timings.trip_to_attach_ms >= 0 && mf.timings.trip_to_attach_ms < 1000,
        `trip→attach ${mf.timings.trip_to_attach_ms} ms`,
      );
      assert.ok(
        mf.probes.some((p) => (p.cpu_ns ?? 0) > 0),
        `no probe reported CPU: ${JSON.stringify(mf.probes.map((p) => p.cpu_ns))}`,
      );
      assert.ok(mf.probes[0].events > 0, 'profile sampled the busy loop');
    } finally {
      await m.stop();
    }
    assert.deepEqual(held, { opened: 1, closed: 1 });
  },
);

kernelTest('real probes past a tiny CPU cap: the capture is cut early and marked partial', async () => {
  const pid = busy();
  const m = manager(0.01);
  m.start();
  try {
    const ref = await m.capture({
      target: { pids: [pid] },
      probes: ['profile', 'offcpu', 'syscalls'],
      durationMs: 20_000,
    });
    const mf = (await validateBundle(ref.dir)).manifest!;
    assert.equal(mf.partial, true);
    assert.match(mf.partial_reason ?? '', /over the cap of 0\.01% \(capture\.max_cpu_percent\)/);
    assert.ok(mf.timings.capture_ms < 15_000, `cut after ${mf.timings.capture_ms} ms`);
  } finally {
    await m.stop();
  }
});

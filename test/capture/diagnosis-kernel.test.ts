// Kernel tier: the diagnosis of real captures. A busy loop under a 0.2-core quota is limit-bound; a busy loop
// sharing one CPU with four loops of another cgroup (no quota) is contention, naming that cgroup.
// Real cgroups, the real cpustat family through the real sampler, the real runqslower/offcpu/profile probes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { cgroupTest, type CgroupFixture } from '../support/cgroups.ts';
import { bpfUnavailable, objDir } from '../support/kernel.ts';
import { buildConfig } from '../../src/config.ts';
import { createSampler } from '../../src/sampler/sampler.ts';
import { createCpuStatFamily } from '../../src/probes/counters/cpustat.ts';
import { CgroupResolver } from '../../src/probes/cgroups.ts';
import { findCpuMount } from '../../src/probes/cgroup-mount.ts';
import { CaptureManager } from '../../src/capture/manager.ts';
import { profile } from '../../src/probes/deep/profile.ts';
import { offcpu } from '../../src/probes/deep/offcpu.ts';
import { runqslower } from '../../src/probes/deep/runqslower.ts';
import { validateBundle } from '../../src/bundle/validate.ts';
import type { ManagedCgroup } from '../../src/demo/cgroup-admin.ts';
import type { DeepProbe } from '../../src/probes/deep/types.ts';
import type { TestContext } from 'node:test';

const root = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-diag-`));
after(() => rmSync(root, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pinnedLoop(fx: CgroupFixture, cg: ManagedCgroup, cpu: number): void {
  const child = spawn('taskset', ['-c', String(cpu), 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' });
  fx['procs'].push(child); // the fixture kills it in cleanup
  cg.addPid(child.pid!);
}

/** Samples 3 s, captures 3 s on `target` with the CPU probes while sampling, returns the bundle's findings. */
async function captureCpu(t: TestContext, fx: CgroupFixture, target: ManagedCgroup, watch: string[]) {
  const why = bpfUnavailable();
  if (why) {
    if (process.env.CI === 'true') throw new Error(`BPF unavailable: ${why}`);
    t.skip(`BPF unavailable: ${why}`);
    return undefined;
  }
  const mount = findCpuMount();
  const sampler = createSampler({
    families: [createCpuStatFamily({ mount, rescanEvery: 1, parents: watch })],
    resolver: new CgroupResolver({ mount }),
    config: buildConfig({}, {}),
  });
  sampler.tick();
  const ticker = setInterval(() => sampler.tick(), 1000);
  try {
    await sleep(3200);
    const m = new CaptureManager({
      registry: { profile, offcpu, runqslower } as Record<string, DeepProbe>,
      objDir,
      redact: true,
      bundlesDir: root,
      maxConcurrent: 1,
      maxCpuPercent: 400,
      defaultDurationMs: 3000,
      history: sampler,
    });
    m.start();
    try {
      const ref = await m.capture({
        target: { cgroupId: target.id, cgroupPath: target.rel },
        probes: ['runqslower', 'offcpu', 'profile'],
        durationMs: 3000,
      });
      assert.deepEqual((await validateBundle(ref.dir)).problems, []);
      return ref.findings;
    } finally {
      await m.stop();
    }
  } finally {
    clearInterval(ticker);
  }
}

cgroupTest(
  'a busy loop under a 0.2-core quota is diagnosed limit-bound',
  async (fx, t) => {
    const cg = fx.cgroup('limit', { quotaCores: 0.2 });
    fx.busyLoop(cg);
    const f = await captureCpu(t, fx, cg, [cg.rel]);
    if (!f) return;
    assert.equal(f.diagnosis?.cause, 'limit-bound', JSON.stringify(f.diagnosis));
    assert.ok((f.diagnosis!.evidence.throttled_ratio as number) > 0.5);
    assert.ok((f.diagnosis!.evidence.usage_cores as number) < 0.3);
  },
  { timeout: 90_000 },
);

cgroupTest(
  'a loop sharing CPU 0 with four loops of another cgroup is diagnosed contention, naming it',
  async (fx, t) => {
    const target = fx.cgroup('victim');
    const other = fx.cgroup('noisy');
    pinnedLoop(fx, target, 0);
    for (let i = 0; i < 4; i++) pinnedLoop(fx, other, 0);
    const f = await captureCpu(t, fx, target, [target.rel, other.rel]);
    if (!f) return;
    assert.equal(f.diagnosis?.cause, 'contention', JSON.stringify(f.diagnosis));
    assert.ok((f.diagnosis!.evidence.wait_share as number) > 0.4, JSON.stringify(f.diagnosis!.evidence));
    // Other busy processes of this shared machine also run on CPU 0 (sometimes more of them than our four loops), so
    // the relation checked is: the noisy cgroup is among the top neighbours, with a real share of the waiting.
    const noisy = f.neighbours.filter((n) => n.cgroupId === other.id);
    assert.ok(
      noisy.length > 0 && noisy.every((n) => n.comm === 'sh'),
      `the noisy cgroup's loops are named: ${JSON.stringify(f.neighbours)}`,
    );
    assert.ok(noisy.reduce((a, n) => a + n.delaySeconds, 0) > 0.1);
    assert.match(
      f.headlines[0],
      /^contention: pid \d+ \(.+\)( and \d+ other tasks?)? in \/\S* ran for \d+% of the target's wait \(waiting for a CPU /,
    );
  },
  { timeout: 90_000 },
);

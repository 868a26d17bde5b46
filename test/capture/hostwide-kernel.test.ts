/**
 * Kernel tier: a host-wide rule that captures. Two cgroups, one whose reads wait 2 ms on a pipe, one doing fast
 * reads; the real syscalls family and sampler keep the per-cgroup twin (`syscall_slow_calls`) in history; a trip of the
 * bundled `syscall-latency` rule (a series with no cgroup) is planned on its top contributors, the slow cgroup first;
 * the real capture scopes the deep probes to it (every slow call recorded is its process's), names it in the
 * manifest and the first headline, and puts it on the in-kernel syscall watch list until the incident resolves.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { kernelTest, objDir } from '../support/kernel.ts';
import { CaptureManager } from '../../src/capture/manager.ts';
import { OffenderWatch } from '../../src/capture/watch-list.ts';
import { deepProbes } from '../../src/probes/deep/index.ts';
import { startSyscalls } from '../../src/probes/counters/syscalls.ts';
import { CgroupResolver } from '../../src/probes/cgroups.ts';
import { createSampler } from '../../src/sampler/sampler.ts';
import { buildConfig } from '../../src/config.ts';
import { loadRuleSet } from '../../src/rules/load.ts';
import { planFor } from '../../src/rules/plan.ts';
import { ACTIONS } from '../../src/actions/registry.ts';
import { validateBundle } from '../../src/bundle/validate.ts';
import { createCgroup } from '../../src/demo/cgroup-admin.ts';
import type { Incident } from '../../src/incident.ts';
import { gated, sleep, uniqueName } from '../probes/counters/fixtures/workload.ts';
import { cleanupsAfterAll } from '../support/cleanups.ts';

const root = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-hostwide-`));
const cleanups = cleanupsAfterAll();
after(() => {
  rmSync(root, { recursive: true, force: true });
});

kernelTest(
  'host-wide syscall-latency trip: the plan and the capture aim at the slow cgroup, named in the bundle; watched until resolved',
  async () => {
    const fam = startSyscalls(objDir);
    cleanups.push(() => fam.close());
    const config = buildConfig({}, {});
    const sampler = createSampler({ families: [fam], resolver: new CgroupResolver(), config });
    const slow = createCgroup({ name: uniqueName('slow') });
    cleanups.push(() => slow.destroy());
    const fast = createCgroup({ name: uniqueName('fast') });
    cleanups.push(() => fast.destroy());
    // Slow: reads of a pipe each waiting ~2 ms for a forked writer, for the whole test. Fast: one-byte reads.
    const a = gated([
      'perl',
      '-e',
      'pipe(R, W); if (!fork) { close R; while (1) { select(undef, undef, undef, 0.002); syswrite W, "x" or exit } } close W; 1 while sysread R, $b, 1',
    ]);
    // Fast: bursts of one-byte reads with pauses (a CPU-starved burst can still make a few slow calls on a busy host).
    const b = gated([
      'sh',
      '-c',
      'while :; do dd if=/dev/zero of=/dev/null bs=1 count=5000 2>/dev/null; sleep 0.02; done',
    ]);
    // A bystander in a third cgroup sleeping 2 ms at a time: slow syscalls the deep probe would record if it were in
    // scope, but waits, not file syscalls, so never a contributor.
    const bystander = createCgroup({ name: uniqueName('bystander') });
    cleanups.push(() => bystander.destroy());
    const c = gated(['perl', '-e', 'select(undef, undef, undef, 0.002) while 1']);
    for (const p of [a, b, c]) cleanups.push(() => p.kill());
    slow.addPid(a.child.pid!);
    fast.addPid(b.child.pid!);
    bystander.addPid(c.child.pid!);
    c.go();

    const t0 = Date.now();
    sampler.tick(); // baseline
    a.go();
    b.go();
    for (let i = 0; i < 8; i++) {
      await sleep(250);
      sampler.tick();
    }
    const firedAt = Date.now();

    const { ruleSet } = loadRuleSet([join(import.meta.dirname, '../../rules/syscall-latency.yaml')], {
      tests: false,
      actions: ACTIONS,
      probes: deepProbes,
    });
    const rule = ruleSet.rules.find((r) => r.name === 'syscall-latency')!;
    const incident: Incident = {
      id: 'hostwide-1',
      key: 'syscall-latency{syscall="read"}',
      rule: rule.name,
      status: 'firing',
      severity: 'warning',
      labels: { rule: rule.name, syscall: 'read' },
      annotations: {},
      target: {},
      value: 0.002,
      threshold: 0.01,
      unit: 'seconds',
      stats: {},
      // The window (rule window 30s before the condition first held) covers every tick above.
      startsAt: new Date(t0).toISOString(),
      firedAt: new Date(firedAt).toISOString(),
      host: 'test',
    };

    const plan = planFor(rule, incident, 1000, (...args) => sampler.contributions(...args));
    assert.equal(plan.scope.kind, 'contributors', JSON.stringify(plan.scope));
    assert.ok(plan.scope.kind === 'contributors');
    assert.equal(plan.scope.contributors[0].cgroup, slow.rel, JSON.stringify(plan.scope.contributors));
    const fastAt = plan.scope.contributors.findIndex((x) => x.cgroupId === fast.id);
    assert.ok(fastAt !== 0, 'the fast cgroup is not the top contributor');
    assert.ok(!plan.scope.contributors.some((x) => x.cgroupId === bystander.id), 'waits make no contributor');

    const watch = new OffenderWatch({ set: (cgroupIds) => fam.watch!({ cgroupIds }) });
    const m = new CaptureManager({
      registry: deepProbes,
      objDir,
      redact: true,
      bundlesDir: root,
      maxConcurrent: 2,
      maxCpuPercent: 400,
      defaultDurationMs: 1500,
      history: sampler,
      watch,
      warm: ['syscalls', 'offcpu'],
    });
    m.start();
    cleanups.push(() => void m.stop());
    const done = m.capture({ incident, rule, durationMs: 1500, tripAt: firedAt });
    assert.ok(
      fam.watching!().cgroupIds.includes(BigInt(slow.id)),
      'the trip put the slow cgroup on the in-kernel watch list',
    );
    const ref = await done;

    const check = await validateBundle(ref.dir);
    assert.deepEqual(check.problems, []);
    const mf = check.manifest!;
    assert.equal(mf.scope?.kind, 'contributors');
    assert.equal(mf.scope?.contributors[0].cgroup, slow.rel);
    assert.ok(mf.scope!.contributors[0].share > 0.3, `share ${mf.scope!.contributors[0].share}`);
    assert.match(ref.findings.headlines[0], /^captured the top .*contributor.* of syscall_latency_seconds/);
    assert.ok(ref.findings.headlines[0].includes(slow.rel), ref.findings.headlines[0]);
    const sys = mf.probes.find((p) => p.name === 'syscalls');
    assert.equal(sys?.status, 'ok', JSON.stringify(sys));
    // Scoped to the contributors: the slow cgroup's processes (the reader and its forked writer) are recorded, the
    // bystander's 2 ms sleeps (as slow as they) are not.
    const inSlow = new Set(slow.pids());
    const recorded = new Set(ref.findings.slowSyscalls.map((x) => x.pid));
    const detail = `recorded pids ${[...recorded].join(', ')}, slow cgroup ${[...inSlow].join(', ')}, bystander ${c.child.pid}; ${JSON.stringify(mf.scope)}`;
    assert.ok(
      [...recorded].some((pid) => inSlow.has(pid)),
      detail,
    );
    assert.ok(!recorded.has(c.child.pid!), detail);

    // While the incident fires, the offender gets per-cgroup syscall histograms.
    sampler.tick();
    assert.ok(
      [...sampler.series('cgroup_syscall_latency_seconds')].some((s) => s.cgroupId === slow.id),
      'per-cgroup syscall histograms of the offender',
    );
    m.resolved(incident.key);
    assert.ok(!fam.watching!().cgroupIds.includes(BigInt(slow.id)), 'the resolve took it off the watch list');
  },
  { timeout: 60_000 },
);

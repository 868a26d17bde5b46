import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuStatReadings, parseFlatKeyed, createCpuStatFamily } from '../../../src/probes/counters/cpustat.ts';
import { CgroupResolver } from '../../../src/probes/cgroups.ts';
import { findCpuMount } from '../../../src/probes/cgroup-mount.ts';
import { createSampler } from '../../../src/sampler/sampler.ts';
import { createMetrics } from '../../../src/metrics/index.ts';
import { createServer } from '../../../src/server/http.ts';
import { buildConfig } from '../../../src/config.ts';
import type { Tick } from '../../../src/samples.ts';
import { cgroupTest } from '../../support/cgroups.ts';
import { createCgroup } from '../../../src/demo/cgroup-admin.ts';
import { parseProm, samplesOf } from '../../support/prom-parse.ts';
import { CGROUP_LABELS } from '../../../src/signals.ts';

test('cpu.stat v1 and v2 to readings in base units', () => {
  const v1 = parseFlatKeyed('nr_periods 120\nnr_throttled 30\nthrottled_time 2500000000\nnr_bursts 0\nburst_time 0\n');
  const r1 = cpuStatReadings(1, '99', v1, 7_000_000_000, 0.5);
  assert.deepEqual(
    r1.map((r) => [r.signal, r.kind === 'histogram' ? NaN : r.value]),
    [
      ['cpu_periods', 120],
      ['cpu_throttled_periods', 30],
      ['cpu_throttled_seconds', 2.5],
      ['cpu_usage_seconds', 7],
      ['cpu_quota_cores', 0.5],
    ],
  );
  assert.ok(r1.every((r) => r.labels.cgroup_id === '99'));
  const v2 = parseFlatKeyed(
    'usage_usec 4000000\nuser_usec 3000000\nsystem_usec 1000000\nnr_periods 10\nnr_throttled 4\nthrottled_usec 250000\n',
  );
  const r2 = cpuStatReadings(2, '5', v2, undefined, undefined);
  assert.deepEqual(
    r2.map((r) => [r.signal, r.kind === 'histogram' ? NaN : r.value]),
    [
      ['cpu_periods', 10],
      ['cpu_throttled_periods', 4],
      ['cpu_throttled_seconds', 0.25],
      ['cpu_usage_seconds', 4],
    ],
  );
  // v1 without cpuacct: no usage series rather than a made-up one
  assert.equal(
    cpuStatReadings(1, '1', v1).some((r) => r.signal === 'cpu_usage_seconds'),
    false,
  );
});

/** Sum of counter deltas of a signal for a cgroup over ticks. */
const deltaSum = (ticks: Tick[], signal: string, id: string): number =>
  ticks
    .flatMap((t) => t.samples)
    .filter((s) => s.signal === signal && s.labels.cgroup_id === id)
    .reduce((a, s) => a + (s.kind === 'counter' ? s.delta : 0), 0);

cgroupTest(
  "a busy loop under a 10% quota is throttled; an idle quota'd cgroup is not; /metrics shows both",
  async (fx) => {
    const mount = findCpuMount();
    const busy = fx.cgroup('busy', { quotaCores: 0.1, mount });
    const idle = fx.cgroup('idle', { quotaCores: 0.1, mount });
    const config = buildConfig({ metrics: { top_cgroups: 50 } }, {});
    const sampler = createSampler({
      families: [createCpuStatFamily({ mount, rescanEvery: 1000 })],
      resolver: new CgroupResolver({ mount }),
      config,
    });
    const ticks: Tick[] = [];
    sampler.onTick((t) => ticks.push(t));
    sampler.tick(); // baseline before the loop starts
    fx.busyLoop(busy);
    // 10% of a CPU in 100 ms periods: the loop exhausts its quota every period it runs in.
    for (let i = 0; i < 3; i++) {
      await sleep(1000);
      sampler.tick();
    }

    const busyThrottled = deltaSum(ticks, 'cpu_throttled_periods', busy.id);
    const busyPeriods = deltaSum(ticks, 'cpu_periods', busy.id);
    const busySecs = deltaSum(ticks, 'cpu_throttled_seconds', busy.id);
    assert.ok(busyThrottled >= 5, `busy cgroup throttled in ${busyThrottled} periods`);
    assert.ok(busyPeriods >= busyThrottled, `periods ${busyPeriods} ≥ throttled ${busyThrottled}`);
    assert.ok(busySecs > 0.3, `busy cgroup throttled for ${busySecs} s`);
    assert.ok(deltaSum(ticks, 'cpu_throttled_periods', idle.id) <= 1, 'idle cgroup is not throttled');
    assert.ok(deltaSum(ticks, 'cpu_throttled_seconds', idle.id) < 0.01);
    if (mount.version === 2 || mount.cpuacctDir) {
      const used = deltaSum(ticks, 'cpu_usage_seconds', busy.id);
      // ≈0.1 s of CPU per second; generous both ways for a loaded 2-core host.
      assert.ok(used > 0.05 && used < 0.6, `busy cgroup used ${used} s of CPU in ~3 s`);
      assert.ok(deltaSum(ticks, 'cpu_usage_seconds', idle.id) < 0.01);
    }
    const last = ticks
      .at(-1)!
      .samples.find((s) => s.signal === 'cpu_throttled_periods' && s.labels.cgroup_id === busy.id)!;
    assert.equal(last.labels.cgroup, busy.path, 'the sampler added the cgroup path');
    const quota = ticks.at(-1)!.samples.find((s) => s.signal === 'cpu_quota_cores' && s.labels.cgroup_id === busy.id);
    assert.equal(quota?.kind === 'gauge' && quota.value, 0.1);

    // The same through /metrics, parsed.
    const server = createServer({
      metrics: createMetrics({ sampler, config }),
      ready: () => sampler.ticked || 'not ticked',
    });
    const res = await server.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    const f = parseProm(res.body);
    assert.equal(f.get('tripline_cpu_throttled_periods_total')?.type, 'counter');
    assert.equal(f.get('tripline_cpu_throttled_seconds_total')?.type, 'counter');
    assert.equal(f.get('tripline_cpu_quota_cores')?.type, 'gauge');
    const one = (name: string, cg: typeof busy): number => {
      const s = samplesOf(f, name, { cgroup: cg.path, cgroup_id: cg.id });
      assert.equal(s.length, 1, `${name} for ${cg.path}`);
      assert.deepEqual(Object.keys(s[0].labels).sort(), [...CGROUP_LABELS].sort());
      return s[0].value;
    };
    assert.ok(one('tripline_cpu_throttled_periods_total', busy) >= 5);
    assert.ok(one('tripline_cpu_throttled_seconds_total', busy) > 0.3);
    assert.ok(one('tripline_cpu_throttled_periods_total', idle) <= 1);
    assert.equal(one('tripline_cpu_quota_cores', busy), 0.1);
    assert.ok(samplesOf(f, 'tripline_engine_ticks_total')[0].value >= 4);
    assert.ok(samplesOf(f, 'tripline_engine_family_read_seconds_total', { family: 'cpustat' })[0].value > 0);
    assert.equal((await server.inject({ method: 'GET', url: '/readyz' })).status, 200);
    // History keeps the per-tick throttling for before/after comparisons.
    const h = sampler.history(busy.id, 0);
    assert.ok(h.length >= 3 && h.some((p) => (p.values.cpu_throttled_periods ?? 0) > 0));
  },
);

cgroupTest('a removed cgroup drops out of the readings without an error', async (fx) => {
  const mount = findCpuMount();
  const gone = fx.cgroup('gone', { quotaCores: 0.2, mount });
  const fam = createCpuStatFamily({ mount, rescanEvery: 1000 });
  assert.ok(fam.read().some((r) => r.labels.cgroup_id === gone.id));
  gone.destroy();
  assert.equal(
    fam.read().some((r) => r.labels.cgroup_id === gone.id),
    false,
  );
});

cgroupTest(
  'cgroups without quota are read only under a watched parent; the tree is walked every rescanEvery reads',
  async (fx) => {
    const mount = findCpuMount();
    const plain = fx.cgroup('plain', { mount });
    const unwatched = createCpuStatFamily({ mount, rescanEvery: 1000 });
    assert.equal(
      unwatched.read().some((r) => r.labels.cgroup_id === plain.id),
      false,
    );
    const watched = createCpuStatFamily({ mount, rescanEvery: 3, parents: [plain.rel.slice(1)] });
    const r = watched.read();
    assert.ok(r.some((x) => x.labels.cgroup_id === plain.id && x.signal === 'cpu_periods'));
    assert.equal(
      r.some((x) => x.labels.cgroup_id === plain.id && x.signal === 'cpu_quota_cores'),
      false,
      'no quota gauge when unlimited',
    );
    // A quota'd cgroup made after the walk shows up at the next walk, not before.
    const late = fx.cgroup('late', { quotaCores: 0.3, mount });
    assert.equal(
      watched.read().some((x) => x.labels.cgroup_id === late.id),
      false,
    );
    watched.read();
    assert.ok(
      watched.read().some((x) => x.labels.cgroup_id === late.id),
      'found at the 4th read (rescanEvery 3)',
    );
  },
);

cgroupTest('cgroup v2: usage from cpu.stat usage_usec of a watched cgroup', async (fx, t) => {
  const { parseCgroupMounts } = await import('../../../src/probes/cgroup-mount.ts');
  const m = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8')).find((x) => x.fstype === 'cgroup2');
  if (!m) {
    t.skip('no cgroup v2 hierarchy');
    return;
  }
  const mount = { version: 2 as const, dir: m.dir, root: m.root };
  const cg = fx.cgroup('v2', { mount });
  const fam = createCpuStatFamily({ mount, parents: [cg.rel], rescanEvery: 1000 });
  const usage = (): number => {
    const r = fam.read().find((x) => x.labels.cgroup_id === cg.id && x.signal === 'cpu_usage_seconds');
    assert.ok(r && r.kind === 'counter', 'usage read');
    return r.value;
  };
  const before = usage();
  const loop = fx.busyLoop(cg);
  await sleep(400);
  loop.kill('SIGKILL');
  assert.ok(usage() - before > 0.05, "the loop's CPU time shows in usage_usec");
});

cgroupTest(
  'idle cgroups are read every idleEvery reads (values repeated between); activity puts them back on every read',
  async (fx) => {
    const mount = findCpuMount();
    const cg = fx.cgroup('idle-skip', { quotaCores: 0.2, mount });
    const periods = (fam: ReturnType<typeof createCpuStatFamily>): number => {
      const r = fam.read().find((x) => x.labels.cgroup_id === cg.id && x.signal === 'cpu_periods');
      assert.ok(r && r.kind === 'counter');
      return r.value;
    };
    // A fresh quota's period timer runs a few periods before it goes quiet (nr_periods 0 → 2 with no task):
    // wait until cpu.stat stops changing, so that the second read below really finds an idle cgroup.
    const stat = (): string => readFileSync(join(cg.dirs[0], 'cpu.stat'), 'utf8');
    for (let prev = stat(), i = 0; i < 50; i++) {
      await sleep(100);
      const now = stat();
      if (now === prev) break;
      prev = now;
    }
    const fam = createCpuStatFamily({ mount, rescanEvery: 1000, idleEvery: 4 });
    periods(fam);
    periods(fam); // the second read finds no change: idle
    // A family that re-reads idle cgroups very rarely keeps repeating the idle values: the skip is real.
    const rare = createCpuStatFamily({ mount, rescanEvery: 1000, idleEvery: 100_003 });
    const idle = periods(rare);
    assert.equal(periods(rare), idle);
    fx.busyLoop(cg);
    await sleep(300);
    assert.equal(periods(rare), idle, 'skipped read repeats the idle value');
    assert.ok(
      createCpuStatFamily({ mount, rescanEvery: 1000 })
        .read()
        .some((x) => x.labels.cgroup_id === cg.id && x.kind === 'counter' && x.signal === 'cpu_periods' && x.value > 0),
      'a fresh read sees the activity',
    );
    // Within idleEvery reads the change is seen...
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      await sleep(250);
      seen.push(periods(fam));
    }
    const first = seen.findIndex((v) => v > idle);
    assert.ok(first >= 0, `activity seen within 4 reads: ${seen}`);
    // ...and from then on every read is a real one: the count grows at each read while the loop runs.
    const more: number[] = [];
    for (let i = 0; i < 3; i++) {
      await sleep(250);
      more.push(periods(fam));
    }
    assert.ok(
      more[0] > seen.at(-1)! && more[1] > more[0] && more[2] > more[1],
      `growing every read: ${seen} then ${more}`,
    );
  },
);

cgroupTest(
  'kubelet-style cgroups get container id, pod uid and QoS labels end to end; a removed one leaves the sampler',
  async (fx) => {
    const mount = findCpuMount();
    const uid = '9d2b6a4e-1c3f-4e5a-8b7c-0d1e2f3a4b5c';
    const cid = 'ab'.repeat(32);
    const root = fx.cgroup('k8s', { mount });
    const parts = ['kubepods', 'burstable', `pod${uid}`, cid];
    // Nested cgroups, parents first; removed children first in `finally` (before the fixture removes the root).
    const chain = parts.map((_, i) =>
      createCgroup({
        name: [root.rel.slice(1), ...parts.slice(0, i + 1)].join('/'),
        mount,
        quotaCores: i === parts.length - 1 ? 0.5 : undefined,
      }),
    );
    try {
      const container = chain.at(-1)!;
      const sampler = createSampler({
        families: [createCpuStatFamily({ mount, rescanEvery: 1000 })],
        resolver: new CgroupResolver({ mount, minRefreshMs: 0 }),
        config: buildConfig({}, {}),
      });
      const s = sampler
        .tick()
        .samples.find((x) => x.signal === 'cpu_quota_cores' && x.labels.cgroup_id === container.id);
      assert.deepEqual(s?.labels, {
        cgroup: container.path,
        cgroup_id: container.id,
        container: '',
        container_id: cid,
        namespace: '',
        pod: '',
        pod_uid: uid,
        qos: 'burstable',
        workload: '',
      });
      container.destroy();
      sampler.tick();
      assert.equal(
        [...sampler.series('cpu_periods')].some((x) => x.cgroupId === container.id),
        false,
        'series of the removed cgroup forgotten',
      );
    } finally {
      for (const c of chain.reverse()) c.destroy();
    }
  },
);

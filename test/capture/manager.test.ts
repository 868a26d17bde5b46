import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureManager, probeTarget, type CaptureManagerOptions } from '../../src/capture/manager.ts';
import { validateBundle } from '../../src/bundle/validate.ts';
import { listBundles } from '../../src/bundle/store.ts';
import { CgroupHistory } from '../../src/sampler/history.ts';
import { hasCode } from '../../src/errors.ts';
import type { DeepProbe, ProbeTarget } from '../../src/probes/deep/types.ts';
import type { Incident } from '../../src/incident.ts';
import { planFor } from '../../src/rules/plan.ts';
import { OffenderWatch } from '../../src/capture/watch-list.ts';
import type { Rule } from '../../src/rules/types.ts';
import { procstat } from '../support/procstat-probe.ts';

const root = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-capture-`));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});
function sleeper(): number {
  const c = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(c);
  return c.pid!;
}

let n = 0;
function manager(over: Partial<CaptureManagerOptions> = {}): CaptureManager {
  return new CaptureManager({
    registry: { procstat: procstat('procstat') },
    objDir: '/nonexistent',
    redact: true,
    bundlesDir: join(root, `b${++n}`),
    maxConcurrent: 2,
    maxCpuPercent: 400,
    defaultDurationMs: 300,
    ...over,
  });
}

function incident(key: string, pids: number[], cgroupId?: string): Incident {
  return {
    id: `${key}-1`,
    key,
    rule: 'cpu-throttled',
    status: 'firing',
    severity: 'warning',
    labels: { pod: 'api' },
    annotations: { summary: 'api throttled' },
    target: { pids, ...(cgroupId ? { cgroupId } : {}) },
    value: 0.8,
    threshold: 0.25,
    unit: 'ratio',
    stats: { rate: 0.8 },
    startsAt: new Date().toISOString(),
    firedAt: new Date().toISOString(),
    host: 'test',
  };
}

function rule(probes: string[], durationMs = 300): Rule {
  return {
    name: 'cpu-throttled',
    source: { file: 'rules/cpu.yaml', line: 1, column: 1 },
    severity: 'warning',
    labels: {},
    groupBy: ['cgroup'],
    match: {},
    when: {
      signal: 'cpu_throttled_periods',
      ratioTo: 'cpu_periods',
      stat: 'rate',
      windowMs: 30_000,
      op: 'above',
      threshold: 0.25,
      thresholdText: '25%',
    },
    forMs: 0,
    keepFiringForMs: 0,
    cooldownMs: 0,
    maxTripsPerHour: 10,
    mute: [],
    annotations: {},
    capture: { probes, durationMs, options: {} },
    actions: [],
  };
}

test('a capture attaches the warm instance, runs for its time box, and writes a valid bundle with the baseline', async () => {
  const pid = sleeper();
  const history = new CgroupHistory(600);
  const trip = Date.now();
  for (let i = 60; i >= 1; i--)
    history.record(
      trip - i * 1000,
      new Map([
        [
          '777',
          new Map([
            ['cpu_periods', 10],
            ['cpu_throttled_periods', 1],
            ['cpu_usage_seconds', 0.5],
            ['cpu_quota_cores', 1],
          ]),
        ],
      ]),
    );
  const m = manager({ history: { history: (id, since) => history.query(id, since) } });
  const probe = m['opts'].registry.procstat as ReturnType<typeof procstat>;
  m.start();
  assert.equal(probe.prepared, 1);
  const events: string[] = [];
  for (const e of ['started', 'attached', 'finished']) m.on(e, () => events.push(e));
  let attachMs = -1;
  m.on('attached', (a: { tripToAttachMs: number }) => {
    attachMs = a.tripToAttachMs;
  });
  const p = m.capture({ incident: incident('k1', [pid], '777'), rule: rule(['procstat']), tripAt: trip });
  // During the capture the sampler keeps recording: a throttled second.
  setTimeout(
    () =>
      history.record(
        Date.now(),
        new Map([
          [
            '777',
            new Map([
              ['cpu_periods', 10],
              ['cpu_throttled_periods', 9],
              ['cpu_usage_seconds', 0.99],
              ['cpu_quota_cores', 1],
            ]),
          ],
        ]),
      ),
    100,
  );
  const ref = await p;
  assert.deepEqual(events, ['started', 'attached', 'finished']);
  assert.ok(attachMs >= 0);
  const check = await validateBundle(ref.dir);
  assert.deepEqual(check.problems, []);
  const mf = check.manifest!;
  assert.equal(mf.partial, false);
  assert.equal(mf.rule.probes_from, 'rule');
  assert.equal(mf.timings.trip_to_attach_ms, attachMs);
  assert.ok(mf.timings.capture_ms >= 280 && mf.timings.capture_ms < 2000, `capture_ms ${mf.timings.capture_ms}`);
  assert.ok(mf.probes[0].events > 5);
  assert.ok((mf.probes[0].cpu_ns ?? 0) > 0);
  const lines = readFileSync(join(ref.dir, 'events.ndjson'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(
    lines.every((r) => r.pid === pid && r.state === 'S'),
    'the sleeping target reads as S',
  );
  const baseline = JSON.parse(readFileSync(join(ref.dir, 'baseline.json'), 'utf8'));
  assert.equal(baseline.before.length, 60);
  assert.equal(baseline.during.length, 1);
  assert.equal(ref.findings.diagnosis?.cause, 'limit-bound');
  await new Promise((r) => setImmediate(r));
  assert.equal(probe.prepared, 2, 'the used instance was replaced in the background');
  await m.stop();
});

test('a trip during a running capture of the same key joins it; another key past the cap is refused', async () => {
  const pid = sleeper();
  const m = manager({ maxConcurrent: 1 });
  m.start();
  const a = m.capture({ incident: incident('k-join', [pid]), rule: rule(['procstat']) });
  const b = m.capture({ incident: incident('k-join', [pid]), rule: rule(['procstat']) });
  assert.equal(a, b);
  await assert.rejects(m.capture({ incident: incident('k-other', [pid]), rule: rule(['procstat']) }), (e) =>
    hasCode(e, 'CAPTURE_ERR_BUSY'),
  );
  const ref = await a;
  assert.equal((await listBundles(join(ref.dir, '..'))).length, 1);
  assert.equal(m.running, 0);
  await m.stop();
});

test('the deadline holds while the event loop is busy in 30 ms slices', async () => {
  const pid = sleeper();
  const m = manager();
  const probe = m['opts'].registry.procstat as ReturnType<typeof procstat>;
  m.start();
  const started = Date.now();
  const p = m.capture({ target: { pids: [pid] }, probes: ['procstat'], durationMs: 300 });
  let busy = true;
  const chunk = (): void => {
    const t = Date.now();
    while (Date.now() - t < 30) {
      /* busy */
    }
    if (busy) setImmediate(chunk);
  };
  setImmediate(chunk);
  const ref = await p;
  busy = false;
  const stoppedAfter = probe.stops[0] - started;
  assert.ok(stoppedAfter >= 290 && stoppedAfter < 300 + 400, `stopped after ${stoppedAfter} ms`);
  assert.equal(ref.partial, false);
  await m.stop();
});

test('probes past the CPU cap: a capture whose probes burn too much CPU is cut and marked partial', async () => {
  const pid = sleeper();
  const m = manager({
    registry: { procstat: procstat('procstat', { burnMs: 8 }) },
    maxCpuPercent: 10,
    cpuCheckMs: 100,
  });
  m.start();
  const ref = await m.capture({ target: { pids: [pid] }, probes: ['procstat'], durationMs: 10_000 });
  const mf = (await validateBundle(ref.dir)).manifest!;
  assert.equal(mf.partial, true);
  assert.match(mf.partial_reason ?? '', /over the cap of 10% \(capture\.max_cpu_percent\)/);
  assert.ok(mf.timings.capture_ms < 5000, `cut after ${mf.timings.capture_ms} ms`);
  await m.stop();
});

test('stop() cuts running captures; they are bundled as partial; later captures are refused', async () => {
  const pid = sleeper();
  const m = manager();
  m.start();
  const p = m.capture({ target: { pids: [pid] }, probes: ['procstat'], durationMs: 30_000 });
  await new Promise((r) => setTimeout(r, 100));
  const t = Date.now();
  await m.stop();
  const ref = await p;
  assert.ok(Date.now() - t < 5000);
  assert.equal(ref.partial, true);
  const mf = (await validateBundle(ref.dir)).manifest!;
  assert.equal(mf.partial_reason, 'engine stopping');
  assert.equal(mf.probes[0].partial, true);
  await assert.rejects(m.capture({ target: { pids: [pid] }, probes: ['procstat'] }), (e) =>
    hasCode(e, 'CAPTURE_ERR_BUSY'),
  );
});

test('unknown and unpreparable probes are recorded, the others run', async () => {
  const pid = sleeper();
  const m = manager({
    registry: { procstat: procstat('procstat'), broken: procstat('broken', { failPrepare: true }) },
  });
  m.start();
  assert.match(m.unavailable.get('broken') ?? '', /not supported here/);
  const ref = await m.capture({ target: { pids: [pid] }, probes: ['procstat', 'broken', 'nosuch'], durationMs: 200 });
  const mf = (await validateBundle(ref.dir)).manifest!;
  assert.deepEqual(
    mf.probes.map((p) => [p.name, p.status]),
    [
      ['procstat', 'ok'],
      ['broken', 'failed'],
      ['nosuch', 'skipped'],
    ],
  );
  assert.match(mf.probes[1].reason ?? '', /PROBE_ERR_UNSUPPORTED/);
  assert.equal(mf.probes[2].reason, 'not in the deep probe catalog');
  await m.stop();
});

test('targets: neither cgroup nor pid is refused; a cgroup id must be decimal', async () => {
  assert.throws(
    () => probeTarget({}),
    (e) => hasCode(e, 'CAPTURE_ERR_TARGET'),
  );
  assert.throws(
    () => probeTarget({ cgroupId: '../x' }),
    (e) => hasCode(e, 'CAPTURE_ERR_TARGET'),
  );
  assert.deepEqual(probeTarget({ cgroupId: '4242', pids: [7] }), { cgroupId: 4242n, pids: [7] });
  const m = manager();
  await assert.rejects(m.capture({ target: {}, probes: ['procstat'] }), (e) => hasCode(e, 'CAPTURE_ERR_TARGET'));
});

test('the manager runs the plan `tripline test` shows: its probes, time box and options', async () => {
  const pid = sleeper();
  const seen: Record<string, unknown>[] = [];
  const inner = procstat('procstat');
  const spy: DeepProbe = {
    ...inner,
    prepare: (ctx) => {
      seen.push({ ...ctx.options });
      return inner.prepare(ctx);
    },
  };
  const m = manager({ registry: { procstat: spy }, warm: [] });
  const r = {
    ...rule(['procstat'], 250),
    capture: { probes: ['procstat'], durationMs: 250, options: { procstat: { every_ms: 5 } } },
  };
  const inc = incident('plan', [pid]);
  const plan = planFor(r, inc, 300);
  assert.deepEqual(plan.probes, [{ name: 'procstat', durationMs: 250, options: { every_ms: 5 } }]);
  try {
    const mf = (await validateBundle((await m.capture({ incident: inc, rule: r })).dir)).manifest!;
    assert.deepEqual([mf.rule.probes, mf.rule.duration_ms, mf.rule.probes_from], [['procstat'], 250, 'rule']);
    // Prepared with the plan's options (the pool's refill after the attach prepares with none).
    const withOptions = () => seen.filter((o) => Object.keys(o).length > 0);
    assert.deepEqual(withOptions(), [{ every_ms: 5 }]);
    // A plan handed over is run as is (the engine may pass the one it computed).
    const given = [{ name: 'procstat', durationMs: 200, options: { every_ms: 7 } }];
    const mf2 = (await validateBundle((await m.capture({ incident: inc, rule: r, plan: given })).dir)).manifest!;
    assert.equal(mf2.rule.duration_ms, 200);
    assert.deepEqual(withOptions(), [{ every_ms: 5 }, { every_ms: 7 }]);
  } finally {
    await m.stop();
  }
});

/** The bundled syscall-latency rule's shape: a host-wide signal, no cgroup in its series. */
function hostwideRule(): Rule {
  return {
    ...rule(['procstat'], 200),
    name: 'syscall-latency',
    groupBy: ['syscall'],
    when: {
      signal: 'syscall_latency_seconds',
      stat: 'p99',
      windowMs: 30_000,
      op: 'above',
      threshold: 0.01,
      thresholdText: '10ms',
    },
  };
}

test('a trip without cgroup captures the top contributors from the history and says so; none: host-wide', async () => {
  const targets: ProbeTarget[] = [];
  const inner = procstat('procstat');
  const spy: DeepProbe = {
    ...inner,
    prepare: (ctx) => {
      const p = inner.prepare(ctx);
      return { close: () => p.close(), start: (t, b) => (targets.push(t), p.start(t, b)) };
    },
  };
  // The sampler's per-cgroup totals of the twin: /web made 90 slow calls in the window, /cron 10, the root 20.
  let contributions = [
    { cgroupId: '41', cgroup: '/web', value: 90 },
    { cgroupId: '42', cgroup: '/cron', value: 10 },
    { cgroupId: '1', cgroup: '/', value: 20 },
  ];
  const watched: bigint[][] = [];
  const m = manager({
    registry: { procstat: spy },
    warm: [],
    history: { history: () => [], contributions: () => contributions },
    watch: new OffenderWatch({ set: (ids) => watched.push([...ids]) }),
  });
  const r = hostwideRule();
  const inc = { ...incident('hostwide', []), rule: 'syscall-latency', target: {} };
  try {
    const ref = await m.capture({ incident: inc, rule: r });
    assert.deepEqual(targets.at(-1), { cgroupIds: [41n, 42n] });
    const mf = (await validateBundle(ref.dir)).manifest!;
    assert.equal(mf.scope?.kind, 'contributors');
    assert.deepEqual(
      mf.scope?.contributors.map((c) => [c.cgroup, c.cgroup_id, c.value, Number(c.share.toFixed(3))]),
      [
        ['/web', '41', 90, 0.75],
        ['/cron', '42', 10, 0.083],
      ],
    );
    assert.equal(
      ref.findings.headlines[0],
      'captured the top 2 contributors of syscall_latency_seconds (by syscall_slow_calls): /web (75%), /cron (8%)',
    );
    assert.deepEqual(watched.at(-1), [41n, 42n], 'the contributors are on the watch list');
    m.resolved(inc.key);
    assert.deepEqual(watched.at(-1), [], 'until the incident resolves');

    contributions = [{ cgroupId: '1', cgroup: '/', value: 20 }];
    const host = await m.capture({ incident: { ...inc, key: 'hostwide-2' }, rule: r });
    assert.deepEqual(targets.at(-1), { hostWide: true });
    const mf2 = (await validateBundle(host.dir)).manifest!;
    assert.equal(mf2.scope?.kind, 'host');
    assert.match(host.findings.headlines[0], /^captured host-wide: no cgroup contributed measurably/);
  } finally {
    await m.stop();
  }
});

test('the top contributors carry their names (pods, units) in the headline and the manifest when known', async () => {
  const m = manager({
    registry: { procstat: procstat('procstat') },
    warm: [],
    history: {
      history: () => [],
      contributions: () => [
        { cgroupId: '41', cgroup: '/kubepods/podu1/c1', value: 90 },
        { cgroupId: '42', cgroup: '/cron', value: 10 },
      ],
    },
    nameOf: (path) => (path === '/kubepods/podu1/c1' ? 'shop/web-1 (Deployment shop/web), container app' : ''),
  });
  const r = hostwideRule();
  try {
    const ref = await m.capture({
      incident: { ...incident('named', []), rule: 'syscall-latency', target: {} },
      rule: r,
    });
    assert.equal(
      ref.findings.headlines[0],
      'captured the top 2 contributors of syscall_latency_seconds (by syscall_slow_calls): ' +
        'shop/web-1 (Deployment shop/web), container app [/kubepods/podu1/c1] (90%), /cron (10%)',
    );
    const mf = (await validateBundle(ref.dir)).manifest!;
    assert.deepEqual(
      mf.scope?.contributors.map((c) => c.name),
      ['shop/web-1 (Deployment shop/web), container app', undefined],
    );
  } finally {
    await m.stop();
  }
});

test('extensions keep a capture within 300 s of its attach, whoever asks; none for a key not running', async () => {
  const pid = sleeper();
  const m = manager();
  m.start();
  const done = m.capture({ target: { pids: [pid] }, probes: ['procstat'], durationMs: 1000, key: 'k-ext' });
  const first = m.extend('k-ext', 200_000);
  assert.equal(first.extended, true, JSON.stringify(first));
  const again = m.extend('k-ext', 99_000);
  assert.equal(again.extended, true, 'up to 300 s in all');
  const over = m.extend('k-ext', 1000);
  assert.deepEqual([over.extended, !over.extended && over.code], [false, 'limit'], JSON.stringify(over));
  assert.equal((m.extend('k-none', 1000) as { code: string }).code, 'unknown');
  await m.stop();
  assert.equal((await done).partial, true);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSampler } from '../../src/sampler/sampler.ts';
import { buildConfig } from '../../src/config.ts';
import type { CounterFamily, Reading } from '../../src/probes/counters/types.ts';
import type { CgroupInfo, CgroupLookup } from '../../src/probes/cgroups.ts';
import type { Tick } from '../../src/samples.ts';
import { PodDirectory } from '../../src/probes/pod-directory.ts';

/** A family that returns the readings the test scripts for each read (the sampler's logic is what is tested). */
function scripted(name: string, script: (n: number) => Reading[] | Error): CounterFamily & { reads: number } {
  const fam = {
    name,
    reads: 0,
    read(): Reading[] {
      const r = script(fam.reads++);
      if (r instanceof Error) throw r;
      return r;
    },
    stats: () => ({ programs: 2, dropped: 5 }),
    close() {},
  };
  return fam;
}
const lookup: CgroupLookup = {
  resolve: (id) =>
    id === '42'
      ? ({
          id,
          rel: '/kubepods/burstable/podabc/' + 'f'.repeat(64),
          path: '/kubepods/burstable/podabc/' + 'f'.repeat(64),
          dir: '',
          labels: { container_id: 'f'.repeat(64), pod_uid: 'abc', qos: 'burstable', unit: '' },
        } satisfies CgroupInfo)
      : undefined,
};
/** Every cgroup label empty but the id. */
const EMPTY = (id: string): Record<string, string> => ({
  cgroup: '',
  cgroup_id: id,
  container: '',
  container_id: '',
  namespace: '',
  pod: '',
  pod_uid: '',
  qos: '',
  workload: '',
});
const config = buildConfig({ sampler: { tick: '1s', history: '5s' } }, {});
const counter = (signal: string, id: string | undefined, value: number): Reading => ({
  kind: 'counter',
  signal,
  labels: id ? { cgroup_id: id } : {},
  value,
});

test('deltas per tick, cgroup labels added, node-level series get empty cgroup labels', () => {
  let t = 10_000;
  const fam = scripted('cpustat', (n) => [
    counter('cpu_throttled_periods', '42', 100 + n * 7),
    counter('cpu_pressure_some_seconds', undefined, n),
  ]);
  const s = createSampler({ families: [fam], resolver: lookup, config, now: () => (t += 1000) });
  assert.equal(s.ticked, false);
  const first = s.tick();
  assert.equal(s.ticked, true);
  assert.equal(first.samples.length, 2);
  assert.ok(
    first.samples.every((x) => x.kind === 'counter' && x.delta === 0),
    'first tick is a baseline',
  );
  const second = s.tick();
  assert.equal(second.intervalMs, 1000);
  const thr = second.samples.find((x) => x.signal === 'cpu_throttled_periods')!;
  assert.equal(thr.kind === 'counter' && thr.delta, 7);
  assert.deepEqual(thr.labels, {
    cgroup: '/kubepods/burstable/podabc/' + 'f'.repeat(64),
    cgroup_id: '42',
    container: '',
    container_id: 'f'.repeat(64),
    namespace: '',
    pod: '',
    pod_uid: 'abc',
    qos: 'burstable',
    workload: '',
  });
  const node = second.samples.find((x) => x.signal === 'cpu_pressure_some_seconds')!;
  assert.deepEqual(node.labels, EMPTY('')!);
});

test('an unresolved cgroup keeps its id with empty labels', () => {
  const s = createSampler({
    families: [scripted('f', () => [counter('cpu_periods', '999', 1)])],
    resolver: lookup,
    config,
  });
  const tick = s.tick();
  assert.deepEqual(tick.samples[0].labels, EMPTY('999'));
});

test('series of a vanished cgroup are forgotten; a failed read keeps state and is counted', () => {
  const fam = scripted('f', (n) =>
    n === 2
      ? new Error('map gone')
      : n < 2
        ? [counter('cpu_periods', '1', n), counter('cpu_periods', '2', n)]
        : [counter('cpu_periods', '1', n)],
  );
  const s = createSampler({ families: [fam], config });
  s.tick();
  s.tick();
  assert.equal([...s.series('cpu_periods')].length, 2);
  s.tick(); // read throws
  assert.equal([...s.series('cpu_periods')].length, 2);
  const h = s.health().families[0];
  assert.equal(h.errors, 1);
  assert.equal(h.lastError, 'map gone');
  s.tick(); // cgroup 2 gone
  assert.deepEqual(
    [...s.series('cpu_periods')].map((x) => x.cgroupId),
    ['1'],
  );
  assert.equal(h.reads, 4);
  assert.deepEqual(h.stats, { programs: 2, dropped: 5 });
});

test('subscribers get every tick; a throwing subscriber is counted and others still run', () => {
  const s = createSampler({ families: [scripted('f', (n) => [counter('cpu_periods', '1', n)])], config });
  const seen: Tick[] = [];
  s.onTick(() => {
    throw new Error('bad subscriber');
  });
  const off = s.onTick((t) => seen.push(t));
  s.tick();
  s.tick();
  off();
  s.tick();
  assert.equal(seen.length, 2);
  assert.equal(s.health().subscriberErrors, 3);
  assert.equal(s.health().ticks, 3);
  assert.equal(
    s.health().tickBuckets.reduce((a, b) => a + b, 0),
    3,
  );
});

test('history: per-cgroup deltas kept for the configured window', () => {
  let t = 0;
  const s = createSampler({
    families: [scripted('f', (n) => [counter('cpu_throttled_seconds', '42', n * 0.5)])],
    resolver: lookup,
    config,
    now: () => (t += 1000),
  });
  for (let i = 0; i < 8; i++) s.tick();
  const h = s.history('42', 0);
  assert.equal(h.length, 5, 'history 5s at 1s ticks');
  assert.deepEqual(
    h.map((p) => p.values.cpu_throttled_seconds),
    [0.5, 0.5, 0.5, 0.5, 0.5],
  );
  assert.deepEqual(
    s.history('42', 7000).map((p) => p.at),
    [7000, 8000],
  );
});

test('start/stop tick on the timer', async () => {
  const fam = scripted('f', () => []);
  const s = createSampler({ families: [fam], config: buildConfig({ sampler: { tick: '20ms' } }, {}) });
  s.start();
  await new Promise((r) => setTimeout(r, 150));
  s.stop();
  const n = fam.reads;
  assert.ok(n >= 3, `ticked ${n} times`);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(fam.reads, n, 'no tick after stop');
});

test('names from the pod directory: arrive later on the same series and the same labels object while unchanged', () => {
  const pods = new PodDirectory();
  const readLabels = Object.freeze({ cgroup_id: '42', syscall: 'read' });
  let v = 0;
  const s = createSampler({
    families: [
      scripted('f', () => [
        counter('cpu_periods', '42', (v += 10)),
        { kind: 'counter', signal: 'syscalls', labels: readLabels, value: v },
      ]),
    ],
    resolver: lookup,
    pods,
    config,
  });
  const a = s.tick();
  const b = s.tick();
  assert.equal(a.samples[0].labels, b.samples[0].labels, 'unchanged labels keep their object');
  assert.equal(a.samples[1].labels, b.samples[1].labels, 'merged reading labels keep their object too');
  assert.equal(b.samples[0].labels.pod, '');
  pods.replace({
    pods: [
      {
        uid: 'abcdef01-2345-4678-89ab-cdef01234567',
        namespace: 'x',
        name: 'y',
        qos: 'Burstable',
        containers: [],
      },
    ],
  });
  const c = s.tick();
  assert.equal(c.samples[0].labels, b.samples[0].labels, 'a snapshot without this pod changes nothing');
  pods.replace({
    pods: [
      {
        uid: 'abc',
        namespace: 'shop',
        name: 'web-7d9f-abcde',
        qos: 'Burstable',
        workload: { kind: 'Deployment', name: 'web' },
        containers: [{ id: 'f'.repeat(64), name: 'app' }],
      } as never,
    ],
  });
  const d = s.tick();
  assert.deepEqual(
    { ...d.samples[0].labels },
    {
      cgroup: '/kubepods/burstable/podabc/' + 'f'.repeat(64),
      cgroup_id: '42',
      container: 'app',
      container_id: 'f'.repeat(64),
      namespace: 'shop',
      pod: 'web-7d9f-abcde',
      pod_uid: 'abc',
      qos: 'burstable',
      workload: 'Deployment/web',
    },
  );
  assert.equal(d.samples[1].labels.workload, 'Deployment/web');
  assert.equal(d.samples[1].labels.syscall, 'read');
  // Still one series per signal: the counter went on (delta 10), it did not restart as a new series.
  assert.equal(d.samples[0].kind === 'counter' && d.samples[0].delta, 10);
  assert.equal([...s.series('cpu_periods')].length, 1);
  assert.equal([...s.series('cpu_periods')][0].labels.pod, 'web-7d9f-abcde');
});

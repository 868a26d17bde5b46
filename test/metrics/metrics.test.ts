import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics } from '../../src/metrics/index.ts';
import { createSampler } from '../../src/sampler/sampler.ts';
import { buildConfig } from '../../src/config.ts';
import { log2Bounds } from '../../src/samples.ts';
import type { CounterFamily, Reading } from '../../src/probes/counters/types.ts';
import { parseProm, samplesOf } from '../support/prom-parse.ts';
import { CGROUP_LABELS } from '../../src/signals.ts';
import { PodDirectory } from '../../src/probes/pod-directory.ts';
import { parseCgroupPath } from '../../src/probes/cgroup-path.ts';
import type { CgroupInfo } from '../../src/probes/cgroups.ts';

/** A family replaying scripted readings (what is tested is the export logic). */
function scripted(script: (n: number) => Reading[]): CounterFamily {
  let n = 0;
  return { name: 'scripted', read: () => script(n++), stats: () => ({ programs: 3, dropped: 7 }), close() {} };
}
const bounds = log2Bounds(32, 1e-6);
const hist = (id: string, slot: number, count: number): Reading => {
  const counts = bounds.map((_, i) => (i === slot ? count : 0));
  return {
    kind: 'histogram',
    signal: 'runq_delay_seconds',
    labels: { cgroup_id: id },
    bounds,
    counts,
    sum: count * 2 ** slot * 1e-6 * 0.75,
  };
};
const ctr = (id: string, v: number): Reading => ({
  kind: 'counter',
  signal: 'cpu_throttled_seconds',
  labels: { cgroup_id: id },
  value: v,
});

test('names, units, histogram folding and engine health', async () => {
  const config = buildConfig({ metrics: { top_cgroups: 10 } }, {});
  const sampler = createSampler({
    families: [
      scripted((n) => [
        hist('5', 13, 10 * (n + 1)),
        ctr('5', n * 0.5),
        { kind: 'gauge', signal: 'cpu_quota_cores', labels: { cgroup_id: '5' }, value: 0.1 },
      ]),
    ],
    config,
    unavailable: [{ family: 'tcp', reason: 'PROBE_ERR_ATTACH: no tracepoint' }],
  });
  const metrics = createMetrics({ sampler, config });
  sampler.tick();
  sampler.tick();
  sampler.tick();
  const f = parseProm(await metrics.scrape());
  assert.equal(f.get('tripline_runq_delay_seconds')?.type, 'histogram');
  const buckets = samplesOf(f, 'tripline_runq_delay_seconds', { cgroup_id: '5' }).filter((s) =>
    s.name.endsWith('_bucket'),
  );
  assert.ok(buckets.length <= 16 && buckets.length >= 8, `${buckets.length} buckets`);
  assert.equal(buckets.at(-1)?.labels.le, '+Inf');
  assert.equal(buckets.at(-1)?.value, 30);
  // slot 13 holds [4.096 ms, 8.192 ms): every observation is ≤ 8.192 ms and none ≤ 4.096 ms
  const at = (le: number): number => buckets.filter((b) => Number(b.labels.le) >= le - 1e-12)[0].value;
  assert.equal(at(2 ** 13 * 1e-6), 30);
  assert.equal(
    buckets.filter((b) => Number(b.labels.le) <= 2 ** 12 * 1e-6 + 1e-12).every((b) => b.value === 0),
    true,
  );
  assert.equal(samplesOf(f, 'tripline_runq_delay_seconds_count', { cgroup_id: '5' })[0].value, 30);
  assert.equal(f.get('tripline_cpu_throttled_seconds_total')?.type, 'counter');
  assert.equal(samplesOf(f, 'tripline_cpu_throttled_seconds_total', { cgroup_id: '5' })[0].value, 1);
  assert.equal(samplesOf(f, 'tripline_cpu_quota_cores', { cgroup_id: '5' })[0].value, 0.1);
  for (const s of samplesOf(f, 'tripline_cpu_throttled_seconds_total')) {
    assert.deepEqual(Object.keys(s.labels).sort(), [...CGROUP_LABELS].sort());
  }
  assert.equal(samplesOf(f, 'tripline_engine_ticks_total')[0].value, 3);
  assert.equal(samplesOf(f, 'tripline_engine_history_cgroups')[0].value, 1);
  assert.equal(samplesOf(f, 'tripline_engine_history_dropped_total')[0].value, 0);
  assert.equal(samplesOf(f, 'tripline_engine_tick_duration_seconds_count')[0].value, 3);
  assert.equal(samplesOf(f, 'tripline_engine_programs_attached', { family: 'scripted' })[0].value, 3);
  assert.equal(samplesOf(f, 'tripline_engine_events_dropped_total', { family: 'scripted' })[0].value, 7);
  assert.equal(
    samplesOf(f, 'tripline_engine_family_unavailable', { family: 'tcp' })[0].labels.reason,
    'PROBE_ERR_ATTACH: no tracepoint',
  );
  assert.ok(samplesOf(f, 'tripline_engine_family_read_seconds_total', { family: 'scripted' })[0].value >= 0);
  const again = parseProm(await metrics.scrape());
  assert.ok(samplesOf(again, 'tripline_engine_scrape_duration_seconds')[0].value > 0);
});

test('top-N per signal: the rest folds into cgroup="other", which never goes down while ranks change', async () => {
  const config = buildConfig({ metrics: { top_cgroups: 2 } }, {});
  // Cgroup i grows by rate[i] per tick; the rates change half-way so membership must change.
  let rates = [1, 2, 3, 8, 10];
  const totals = [0, 0, 0, 0, 0];
  const sampler = createSampler({
    families: [scripted(() => totals.map((t, i) => ctr(String(i + 1), (totals[i] = t + rates[i]))))],
    config,
  });
  const metrics = createMetrics({ sampler, config });
  let lastOther = 0;
  const exportedIds: string[][] = [];
  for (let round = 0; round < 8; round++) {
    if (round === 4) rates = [50, 40, 0, 0, 0];
    sampler.tick();
    const f = parseProm(await metrics.scrape());
    const s = samplesOf(f, 'tripline_cpu_throttled_seconds_total');
    const ids = s
      .filter((x) => x.labels.cgroup !== 'other')
      .map((x) => x.labels.cgroup_id)
      .sort();
    assert.ok(ids.length <= 2, `round ${round}: ${ids}`);
    exportedIds.push(ids);
    const other = s.find((x) => x.labels.cgroup === 'other')?.value ?? 0;
    assert.ok(other >= lastOther, `round ${round}: other went from ${lastOther} to ${other}`);
    lastOther = other;
  }
  assert.deepEqual(exportedIds[3], ['4', '5'], 'the most active cgroups get their own series');
  assert.deepEqual(exportedIds[7], ['1', '2'], 'after the change the new busiest take over');
  assert.ok(lastOther > 0);
});

test('cgroups that vanish leave /metrics; node-level series are never folded', async () => {
  const config = buildConfig({ metrics: { top_cgroups: 1 } }, {});
  let ids = ['1', '2', '3'];
  const sampler = createSampler({
    families: [
      scripted((n) => [
        ...ids.map((id) => ctr(id, n)),
        { kind: 'counter', signal: 'cpu_pressure_some_seconds', labels: {}, value: n },
      ]),
    ],
    config,
  });
  const metrics = createMetrics({ sampler, config });
  sampler.tick();
  await metrics.scrape();
  ids = ['1'];
  sampler.tick();
  const f = parseProm(await metrics.scrape());
  assert.deepEqual(
    samplesOf(f, 'tripline_cpu_throttled_seconds_total')
      .map((s) => s.labels.cgroup_id)
      .filter(Boolean),
    ['1'],
  );
  assert.equal(samplesOf(f, 'tripline_cpu_pressure_some_seconds_total', { cgroup: '' }).length, 1);
});

test('/metrics: per-cgroup series carry the names; the fold past top N blanks them (bounded: one row per cgroup)', async () => {
  const config = buildConfig({ metrics: { top_cgroups: 1 } }, {});
  const uid = '9d2b6a4e-1c3f-4e5a-8b7c-0d1e2f3a4b5c';
  const cid = 'e'.repeat(64);
  const paths: Record<string, string> = {
    '1': `/kubepods/burstable/pod${uid}/${cid}`,
    '2': '/system.slice/cron.service',
  };
  const resolver = {
    resolve: (id: string): CgroupInfo | undefined =>
      paths[id] ? { id, rel: paths[id], path: paths[id], dir: '', labels: parseCgroupPath(paths[id]) } : undefined,
  };
  const pods = new PodDirectory();
  pods.replace({
    pods: [
      {
        uid,
        namespace: 'shop',
        name: 'web-7d9f-abcde',
        qos: 'Burstable',
        workload: { kind: 'Deployment', name: 'web' },
        containers: [{ id: cid, name: 'app' }],
      },
    ],
  });
  let n = 0;
  const sampler = createSampler({
    families: [scripted(() => [ctr('1', (n += 10)), ctr('2', n / 10)])],
    resolver,
    pods,
    config,
  });
  const metrics = createMetrics({ sampler, config });
  for (let i = 0; i < 3; i++) {
    sampler.tick();
    await metrics.scrape();
  }
  const s = samplesOf(parseProm(await metrics.scrape()), 'tripline_cpu_throttled_seconds_total');
  const top = s.find((x) => x.labels.cgroup_id === '1')!;
  assert.deepEqual(
    { ns: top.labels.namespace, pod: top.labels.pod, c: top.labels.container, w: top.labels.workload },
    { ns: 'shop', pod: 'web-7d9f-abcde', c: 'app', w: 'Deployment/web' },
  );
  assert.equal(top.labels.container_id, cid);
  const other = s.find((x) => x.labels.cgroup === 'other')!;
  assert.ok(other, 'cron.service is past the top 1');
  for (const k of CGROUP_LABELS) if (k !== 'cgroup') assert.equal(other.labels[k], '', k);
  assert.equal(s.length, 2);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  captureScope,
  describeScope,
  incidentWindow,
  rankContributors,
  twinOf,
  type ContributionSource,
} from '../../src/rules/contributors.ts';
import { CgroupHistory } from '../../src/sampler/history.ts';
import { planFor } from '../../src/rules/plan.ts';
import type { Incident } from '../../src/incident.ts';
import type { Rule } from '../../src/rules/types.ts';

const c = (cgroupId: string, cgroup: string, value: number) => ({ cgroupId, cgroup, value });

test('ranking: largest first, the root counts in the total but is never chosen, under 5% is not a contributor', () => {
  const all = [c('1', '/', 50), c('11', '/a', 30), c('12', '/b', 15), c('13', '/c', 4), c('14', '/d', 1)];
  const r = rankContributors(all, 3);
  assert.deepEqual(
    r.map((x) => [x.cgroup, x.share]),
    [
      ['/a', 0.3],
      ['/b', 0.15],
    ],
  );
  assert.deepEqual(
    rankContributors(all, 1).map((x) => x.cgroup),
    ['/a'],
    'top',
  );
  assert.deepEqual(
    rankContributors(all, 3, 0).map((x) => x.cgroup),
    ['/a', '/b', '/c'],
    'no minimum share',
  );
  assert.deepEqual(
    rankContributors([c('21', '/x', 5), c('20', '/y', 5)], 3).map((x) => x.cgroupId),
    ['20', '21'],
    'ties by id',
  );
  assert.deepEqual(rankContributors([c('1', '/', 9), c('9', '/z', 0)], 3), [], 'nothing but the root');
  assert.deepEqual(
    rankContributors([c('../x', '/evil', 9), c('7', '/ok', NaN), c('8', '/ok2', 1)], 3).map((x) => x.cgroupId),
    ['8'],
    'ids that are not decimal and values that are not finite are left out',
  );
  assert.equal(
    rankContributors(
      Array.from({ length: 20 }, (_, i) => c(String(i + 2), `/c${i}`, 1)),
      50,
      0,
    ).length,
    8,
  );
});

function incident(target: Incident['target'], startsAt = 40_000, firedAt = 70_000): Incident {
  return {
    id: 'i1',
    key: 'k',
    rule: 'blockio-latency',
    status: 'firing',
    severity: 'warning',
    labels: { device: 'vda', op: 'write' },
    annotations: {},
    target,
    value: 0.06,
    threshold: 0.05,
    unit: 'seconds',
    stats: {},
    startsAt: new Date(startsAt).toISOString(),
    firedAt: new Date(firedAt).toISOString(),
    host: 'test',
  };
}

function rule(signal: string, top?: number): Rule {
  return {
    name: 'blockio-latency',
    source: { file: 'rules/b.yaml', line: 1, column: 1 },
    severity: 'warning',
    labels: {},
    groupBy: ['device', 'op'],
    match: {},
    when: { signal, stat: 'p99', windowMs: 10_000, op: 'above', threshold: 0.05, thresholdText: '50ms' },
    forMs: 30_000,
    keepFiringForMs: 0,
    cooldownMs: 0,
    maxTripsPerHour: 10,
    mute: [],
    annotations: {},
    ...(top ? { capture: { probes: [], durationMs: 1000, options: {}, top } } : {}),
    actions: [],
  };
}

test('twins and the window: host-wide signals name their twin; the window runs from first true minus the window', () => {
  assert.deepEqual(twinOf(rule('blockio_latency_seconds')), {
    signal: 'blockio_latency_seconds',
    twin: 'blockio_issued_bytes',
  });
  assert.deepEqual(twinOf(rule('syscall_latency_seconds'))?.twin, 'syscall_slow_calls');
  assert.equal(twinOf(rule('cpu_throttled_seconds')), undefined);
  assert.deepEqual(incidentWindow(rule('blockio_latency_seconds'), incident({})), [30_000, 70_000]);
});

test('block I/O: the plan of a cgroup-less trip ranks the twin from the sampler history over the window', () => {
  // One tick a second for 100 s (values in MB): /db issues 0.5 a second throughout, /backup 2 but only before the
  // window (before 30 s), /batch 0.02 (3%), the root (kworkers' writeback) 0.1: /db has 20.5 of 25.4.
  const h = new CgroupHistory(300);
  for (let at = 0; at <= 100_000; at += 1000) {
    h.beginTick(at);
    h.put('31', 'blockio_issued_bytes', 0.5);
    if (at < 30_000) h.put('32', 'blockio_issued_bytes', 2);
    h.put('33', 'blockio_issued_bytes', 0.02);
    h.put('1', 'blockio_issued_bytes', 0.1);
    h.endTick();
  }
  const paths: Record<string, string> = { '1': '/', '31': '/db', '32': '/backup', '33': '/batch' };
  const source: ContributionSource = (twin, since, until) =>
    [...h.totals(twin, since, until)].map(([cgroupId, value]) => ({ cgroupId, cgroup: paths[cgroupId], value }));
  const totals = h.totals('blockio_issued_bytes', 30_000, 70_000);
  assert.ok(Math.abs(totals.get('31')! - 20.5) < 1e-6, `41 ticks of 0.5: ${totals.get('31')}`);
  assert.equal(totals.has('32'), false, 'nothing in the window');

  const plan = planFor(rule('blockio_latency_seconds'), incident({}), 1000, source);
  assert.equal(plan.scope.kind, 'contributors');
  assert.ok(plan.scope.kind === 'contributors');
  assert.deepEqual(
    plan.scope.contributors.map((x) => x.cgroup),
    ['/db'],
  );
  assert.deepEqual([plan.scope.sinceMs, plan.scope.untilMs], [30_000, 70_000]);
  assert.equal(
    describeScope(plan.scope),
    'captured the top contributor of blockio_latency_seconds (by blockio_issued_bytes): /db (81%)',
  );

  // A window where /backup dominated: both, largest first, `top` respected.
  const early = planFor(rule('blockio_latency_seconds', 1), incident({}, 10_000, 20_000), 1000, source);
  assert.ok(early.scope.kind === 'contributors');
  assert.deepEqual(
    early.scope.contributors.map((x) => x.cgroup),
    ['/backup'],
  );
});

test('scope: the incident’s own target when it has one; host-wide with the reason otherwise', () => {
  const none: ContributionSource = () => [];
  assert.deepEqual(captureScope(rule('blockio_latency_seconds'), incident({ cgroupId: '5' }), none), {
    kind: 'target',
  });
  assert.deepEqual(captureScope(rule('blockio_latency_seconds'), incident({ pids: [7] }), none), { kind: 'target' });
  const host = captureScope(rule('blockio_latency_seconds'), incident({}), none);
  assert.equal(host.kind, 'host');
  assert.match(describeScope(host), /^captured host-wide: no cgroup contributed measurably/);
  assert.match(describeScope(captureScope(rule('cpu_throttled_seconds'), incident({}), none)), /no per-cgroup twin/);
  assert.match(describeScope(captureScope(rule('blockio_latency_seconds'), incident({}))), /no history/);
});

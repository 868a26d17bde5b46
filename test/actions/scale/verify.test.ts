// The verification's verdict (pure): from the readings before and after, or from the resolution when the signal
// cannot be re-read; late checks say so; the series selection tries the workload, then the pod, then the cgroup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judge, seriesMatch, unusable, type Pending } from '../../../src/actions/scale/verify.ts';
import type { SignalReading } from '../../../src/signal-read.ts';

const T0 = Date.parse('2026-11-25T14:00:00Z');

function reading(value: number | null, breaching: boolean | null, over: Partial<SignalReading> = {}): SignalReading {
  return {
    found: true,
    matched: 1,
    series: 2,
    at: T0,
    leaves: [
      {
        signal: 'cpu_throttled_ratio',
        stat: 'mean',
        windowMs: 60_000,
        value,
        op: 'above',
        thresholdText: '25%',
      },
    ],
    breaching,
    ...over,
  };
}

function pending(before?: SignalReading): Pending {
  return {
    incident: 'i1',
    change: 'Deployment/shop/web 2 → 3',
    scaledAt: T0,
    due: T0 + 120_000,
    query: { rule: 'cpu-throttling', match: [{ pod_uid: ['u1'] }] },
    ...(before ? { before } : {}),
    tripValue: 0.84,
  };
}

test('recovered: the re-read signal no longer breaches; both values in the message and the detail', () => {
  const j = judge({
    pending: pending(reading(0.61, true)),
    after: reading(0.05, false),
    resolved: false,
    now: T0 + 120_000,
  });
  assert.equal(j.verdict, 'recovered');
  assert.equal(j.detail.kind, 'recovered');
  assert.equal(j.detail.before, 0.61);
  assert.equal(j.detail.after, 0.05);
  assert.match(
    String(j.detail.text),
    /^Recovered 2 min after scaling Deployment\/shop\/web 2 → 3: mean of cpu_throttled_ratio over 60s was 0\.61 before scaling, 0\.05 now \(trips above 25%; 2 series\)\.$/,
  );
});

test('not recovered: still breaching, even when the incident resolved (the signal decides)', () => {
  const j = judge({ pending: pending(), after: reading(0.4, true), resolved: true, now: T0 + 120_000 });
  assert.equal(j.verdict, 'not-recovered');
  assert.equal(j.detail.before, 0.84, 'no reading when it scaled: the value at the trip');
  assert.match(
    String(j.detail.text),
    /^Not recovered 2 min after scaling .*: still breaching, .* was 0\.84 at the trip, 0\.4 now/,
  );
});

test('no usable reading: judged by the resolution, and the message says why', () => {
  const none = reading(null, null, { matched: -1, series: 0, leaves: [] });
  const why = unusable(none, 'cpu-throttling');
  assert.equal(why, "no series of the rule matched the workload's pods");
  const j = judge({ pending: pending(), after: none, why, resolved: true, now: T0 + 120_000 });
  assert.equal(j.verdict, 'recovered');
  assert.match(String(j.detail.text), /the incident resolved \(the signal could not be re-read: no series/);
  assert.equal(unusable(undefined, 'r'), 'no probe side to ask');
  assert.equal(unusable(reading(null, null, { found: false }), 'r'), 'rule r is not loaded on the probe side');
});

test('a check that runs late (tripline was down at its due time) says so, with the values as of now', () => {
  const j = judge({ pending: pending(), after: reading(0.4, true), resolved: false, now: T0 + 120_000 + 600_000 });
  assert.equal(j.verdict, 'overdue');
  assert.equal(j.detail.kind, 'verify-overdue');
  assert.match(String(j.detail.text), /was due 600s ago, while tripline was not running; checked now: still breaching/);
});

test('series selection: workload names first (in the spellings a workload label takes), then pod, then cgroup', () => {
  const m = seriesMatch(
    { kind: 'Deployment', namespace: 'shop', name: 'web' },
    { pod: { uid: 'u1' }, cgroupId: '4242' },
  );
  assert.deepEqual(m, [
    { namespace: ['shop'], workload: ['web', 'Deployment/web', 'Deployment/shop/web', 'deployment/web'] },
    { pod_uid: ['u1'] },
    { cgroup_id: ['4242'] },
  ]);
});

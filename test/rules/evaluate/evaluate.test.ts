import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Evaluator } from '../../../src/rules/evaluate/evaluate.ts';
import { incidentKey, type Incident } from '../../../src/incident.ts';
import type { Sample } from '../../../src/samples.ts';
import { cond, counter, hist, rule, ruleSet, tick } from '../../support/rule-fixtures.ts';

const SIG = 'runq_delay_over_threshold';
const A = { cgroup: '/kubepods/pod1/c1', cgroup_id: '4242', container: 'api', pod_uid: 'uid-1', qos: 'burstable' };
const T0 = Date.parse('2026-11-25T10:00:00Z');

/** A rule on the per-second rate of SIG over one tick, above 20/s (resolve below 10/s when given). */
const rateRule = (r = {}, c = {}) =>
  rule({
    name: 'hot',
    when: cond({ signal: SIG, stat: 'rate', windowMs: 1000, threshold: 20, thresholdText: '20/s', ...c }),
    ...r,
  });

/** Feeds `rates[i]` at second i (series A unless given) and returns the incidents per second. */
function run(ev: Evaluator, rates: number[], labels = A, start = 0): Map<number, Incident[]> {
  const out = new Map<number, Incident[]>();
  rates.forEach((r, i) => {
    const got = ev.tick(tick(T0 + (start + i) * 1000, [counter(SIG, labels, r)]));
    if (got.length) out.set(start + i, got);
  });
  return out;
}
const summary = (m: Map<number, Incident[]>): string[] => [...m].flatMap(([t, l]) => l.map((i) => `${t}:${i.status}`));

test('for: fires after the condition held long enough, resolves when it stops; same key and id', () => {
  const ev = new Evaluator(
    ruleSet([rateRule({ forMs: 2000, annotations: { summary: '{{ .labels.cgroup }} at {{ .value | rate }}' } })]),
    { host: 'h1' },
  );
  const got = run(ev, [0, 30, 30, 30, 30, 5, 0]);
  assert.deepEqual(summary(got), ['3:firing', '5:resolved']);
  const [fire] = got.get(3)!,
    [res] = got.get(5)!;
  assert.equal(fire.key, incidentKey('hot', { cgroup: A.cgroup }));
  assert.equal(res.key, fire.key);
  assert.equal(res.id, fire.id);
  assert.match(fire.id, /^[0-9a-f]{12}-\d+$/);
  assert.equal(fire.startsAt, new Date(T0 + 1000).toISOString());
  assert.equal(fire.firedAt, new Date(T0 + 3000).toISOString());
  assert.equal(res.resolvedAt, new Date(T0 + 5000).toISOString());
  assert.equal(fire.value, 30);
  assert.equal(fire.threshold, 20);
  assert.equal(fire.unit, 'count/s');
  assert.deepEqual(fire.labels, { cgroup: A.cgroup, rule: 'hot' });
  assert.deepEqual(fire.target, {
    cgroupId: '4242',
    cgroupPath: A.cgroup,
    container: 'api',
    pod: { uid: 'uid-1', qos: 'burstable' },
  });
  assert.equal(fire.annotations.summary, `${A.cgroup} at 30/s`);
  assert.equal(fire.stats['c0.rate'], 30);
  assert.equal(fire.host, 'h1');
});

test('hysteresis: a resolve threshold keeps it firing between the two thresholds', () => {
  const ev = new Evaluator(ruleSet([rateRule({}, { resolveThreshold: 10 })]));
  assert.deepEqual(summary(run(ev, [30, 15, 15, 12, 9, 30])), ['0:firing', '4:resolved', '5:firing']);
});

test('keep_firing_for: resolves only after being clear that long', () => {
  const ev = new Evaluator(ruleSet([rateRule({ keepFiringForMs: 2000 })]));
  assert.deepEqual(summary(run(ev, [30, 0, 30, 0, 0, 0, 0])), ['0:firing', '5:resolved']);
});

test('cooldown: a re-trip sooner than `cooldown` after the previous trip is suppressed (counted, listed), then fires', () => {
  const ev = new Evaluator(ruleSet([rateRule({ cooldownMs: 4000 })]));
  const seen: string[] = [];
  ev.suppressor.onSuppressed = (t) => seen.push(`${t.reason}:${t.incident.key}`);
  const got = run(ev, [30, 0, 30, 30]);
  assert.deepEqual(summary(got), ['0:firing', '1:resolved']);
  assert.equal(ev.suppressor.counts.cooldown, 1, 'counted once per episode, not per tick');
  assert.equal(ev.suppressor.suppressed()[0].reason, 'cooldown');
  assert.match(ev.suppressor.suppressed()[0].detail, /cooldown until 2026-11-25T10:00:04\.000Z/);
  assert.deepEqual(seen, [`cooldown:${incidentKey('hot', { cgroup: A.cgroup })}`]);
  assert.deepEqual(summary(run(ev, [30], A, 4)), ['4:firing'], 'cooldown over: 4 s after the trip at 0 s');
  assert.equal(ev.suppressor.suppressed().length, 0, 'fired: no longer listed');
});

test('max trips per hour per rule: further trips are capped', () => {
  const ev = new Evaluator(ruleSet([rateRule({ maxTripsPerHour: 2 })]));
  assert.deepEqual(summary(run(ev, [30, 0, 30, 0, 30, 0])), ['0:firing', '1:resolved', '2:firing', '3:resolved']);
  assert.equal(ev.suppressor.counts.cap, 1);
  const B = { ...A, cgroup: '/b' };
  assert.equal(run(ev, [30], B, 6).size, 0, 'the cap is per rule: another series is capped too');
  assert.equal(ev.suppressor.counts.cap, 2);
});

test('mute windows from cron: trips inside are suppressed as muted; fires once the window ends', () => {
  // T0 is 10:00:00Z; mute every day 10:00 for 3 s.
  const ev = new Evaluator(ruleSet([rateRule({ mute: [{ cron: '0 10 * * *', durationMs: 3000, timezone: 'UTC' }] })]));
  assert.deepEqual(summary(run(ev, [30, 30, 30, 30])), ['3:firing']);
  assert.equal(ev.suppressor.counts.muted, 1);
});

test('silences from the rule set and from the API; expired silences do not apply', () => {
  const sil = {
    id: 's1',
    matchers: { rule: { op: 'equals' as const, value: 'hot' } },
    startsAt: T0,
    endsAt: T0 + 2000,
    author: 'ana',
    comment: 'deploy',
  };
  const ev = new Evaluator(ruleSet([rateRule()], { silences: [sil] }));
  assert.deepEqual(summary(run(ev, [30, 30, 30])), ['2:firing'], 'silenced until T0+2s, then fires');
  assert.equal(ev.suppressor.counts.silenced, 1);
  const ev2 = new Evaluator(ruleSet([rateRule()]));
  ev2.suppressor.add({
    ...sil,
    id: 'api-1',
    matchers: { cgroup: { op: 'regex', pattern: '/kubepods/.*' } },
    endsAt: T0 + 3_600_000,
  });
  assert.equal(run(ev2, [30, 30]).size, 0);
  assert.match(ev2.suppressor.suppressed()[0].detail, /api-1 by ana: deploy/);
  assert.ok(ev2.suppressor.remove('api-1'));
  assert.deepEqual(summary(run(ev2, [30], A, 2)), ['2:firing']);
});

test('inhibition: a firing source mutes targets with equal labels, also when both trip on the same tick', () => {
  const node = rule({
    name: 'node-cpu',
    groupBy: ['node'],
    labels: { scope: 'node' },
    when: cond({ signal: 'cpu_pressure_some_seconds', stat: 'rate', windowMs: 1000, threshold: 0.5 }),
  });
  const pod = rateRule({ groupBy: ['cgroup', 'node'] });
  const inhibitions = [
    {
      name: 'node-saturated',
      sourceMatch: { scope: { op: 'equals' as const, value: 'node' } },
      targetMatch: { rule: { op: 'equals' as const, value: 'hot' } },
      equal: ['node'],
    },
  ];
  // Target rule listed first: the source must still fire first.
  const ev = new Evaluator(ruleSet([pod, node], { inhibitions }));
  const samples = (n1: number): Sample[] => [
    counter(SIG, { ...A, node: 'n1' }, 30),
    counter(SIG, { ...A, node: 'n2' }, 30),
    counter('cpu_pressure_some_seconds', { cgroup: '', node: 'n1' }, n1),
  ];
  const got = ev.tick(tick(T0, samples(0.9)));
  assert.deepEqual(got.map((i) => `${i.rule}:${i.labels.node}`).sort(), ['hot:n2', 'node-cpu:n1']);
  assert.equal(ev.suppressor.counts.inhibited, 1);
  assert.equal(ev.suppressor.suppressed()[0].incident.labels.node, 'n1');
  const later = ev.tick(tick(T0 + 1000, samples(0)));
  assert.deepEqual(later.map((i) => `${i.rule}:${i.labels.node}:${i.status}`).sort(), [
    'hot:n1:firing',
    'node-cpu:n1:resolved',
  ]);
});

test('group_by sums histograms across the series of a group; all/any; ratio of two counters', () => {
  const r = rule({
    name: 'lat',
    groupBy: ['pod_uid'],
    when: {
      all: [
        cond({ stat: 'p90', windowMs: 2000, threshold: 0.005 }),
        {
          any: [
            cond({
              signal: 'cpu_throttled_periods',
              ratioTo: 'cpu_periods',
              stat: 'rate',
              windowMs: 2000,
              threshold: 0.25,
            }),
            cond({ signal: 'tcp_retransmits', stat: 'increase', windowMs: 2000, threshold: 1000 }),
          ],
        },
      ],
    },
  });
  const ev = new Evaluator(ruleSet([r]));
  // Two containers of one pod: two cgroups (a series is identified by its cgroup id).
  const c1 = { ...A, container: 'a' },
    c2 = { ...A, container: 'b', cgroup: '/kubepods/pod1/c2', cgroup_id: '4243' };
  const samples = (thr: number): Sample[] => [
    hist('runq_delay_seconds', c1, [10, 20, 0, 0, 0]),
    hist('runq_delay_seconds', c2, [0, 0, 30, 40, 0]),
    counter('cpu_throttled_periods', c1, thr),
    counter('cpu_throttled_periods', c2, thr),
    counter('cpu_periods', c1, 10),
    counter('cpu_periods', c2, 10),
  ];
  const [inc] = ev.tick(tick(T0, samples(3)));
  assert.ok(inc, 'p90 of the pod is 7ms (neither container alone) and throttled ratio 6/20');
  assert.ok(Math.abs(inc.value - 0.007) < 1e-12);
  assert.equal(inc.stats['c1.ratio'], 0.3);
  assert.deepEqual(inc.labels, { pod_uid: 'uid-1', rule: 'lat' });
  assert.deepEqual(
    inc.target,
    { pod: { uid: 'uid-1', qos: 'burstable' } },
    'containers (and their cgroups) differ: only the pod is the target',
  );
  const next = ev.tick(tick(T0 + 1000, samples(0)));
  assert.deepEqual(
    next.map((i) => `${i.status}:${i.id}`),
    [`resolved:${inc.id}`],
    'ratio over 2 s is 6/40 = 0.15: any() false, resolved',
  );
  assert.equal(ev.firing().length, 0);
});

test('a series that disappears resolves; a rule reload keeps the state of unchanged rules and resolves changed ones', () => {
  const keep = rateRule();
  const other = rateRule({ name: 'other' });
  const ev = new Evaluator(ruleSet([keep, other]));
  run(ev, [30]);
  assert.equal(ev.firing().length, 2);
  const resolved = ev.setRuleSet(ruleSet([keep, rateRule({ name: 'other' }, { threshold: 25 })]), T0 + 500);
  assert.deepEqual(
    resolved.map((i) => `${i.rule}:${i.status}`),
    ['other:resolved'],
  );
  assert.deepEqual(
    ev.firing().map((i) => i.rule),
    ['hot'],
    'unchanged rule still firing, no re-alert',
  );
  assert.deepEqual(summary(run(ev, [30], A, 1)), ['1:firing'], 'changed rule starts afresh and fires (new identity)');
  const gone = ev.tick(tick(T0 + 2000, []));
  assert.deepEqual(
    gone.map((i) => i.status),
    ['resolved', 'resolved'],
    'no data: resolved',
  );
});

test('restore: only into a rule of the same name and identity; a restored firing series does not re-alert, then resolves with its id', () => {
  const ev = new Evaluator(ruleSet([rateRule()]));
  const [fired] = run(ev, [30]).get(0)!;
  const saved = ev.snapshot();
  assert.equal(ev.dirty, false);
  const changed = new Evaluator(ruleSet([rateRule({}, { threshold: 25 })]));
  changed.restore(saved, T0 + 1000);
  assert.equal(changed.firing().length, 0, 'another condition: the saved state does not apply');
  const same = new Evaluator(ruleSet([rateRule()]));
  same.restore(saved, T0 + 1000);
  assert.deepEqual(summary(run(same, [30, 30], A, 1)), [], 'still firing: no new incident');
  const [res] = run(same, [0], A, 3).get(3)!;
  assert.deepEqual([res.status, res.id], ['resolved', fired.id]);
  assert.equal(same.dirty, true);
});

test('incidents carry only finite statistics: a leaf without data is left out', () => {
  const r = rateRule({
    when: {
      any: [
        cond({ signal: SIG, stat: 'rate', windowMs: 1000, threshold: 20 }),
        cond({ signal: 'cpu_throttled_periods', ratioTo: 'cpu_periods', stat: 'rate', windowMs: 1000, threshold: 0.2 }),
      ],
    },
  });
  const [inc] = new Evaluator(ruleSet([r])).tick(tick(T0, [counter(SIG, A, 30)]));
  assert.equal(inc.stats['c0.rate'], 30);
  assert.ok(!('c1.ratio' in inc.stats), 'no periods: no ratio');
  assert.ok(Object.values(inc.stats).every(Number.isFinite));
  assert.doesNotMatch(JSON.stringify(inc), /null/);
});

test('under any, the incident takes the value, threshold and unit of the condition that tripped: never NaN', () => {
  // The first condition has no data (no run-queue series), the second trips: its numbers are the incident's.
  const r = rateRule({
    when: {
      any: [
        cond({ signal: SIG, stat: 'rate', windowMs: 1000, threshold: 20 }),
        cond({ signal: 'cpu_throttled_periods', ratioTo: 'cpu_periods', stat: 'rate', windowMs: 1000, threshold: 0.2 }),
      ],
    },
  });
  const ev = new Evaluator(ruleSet([r]));
  ev.tick(tick(T0, [counter('cpu_throttled_periods', A, 0), counter('cpu_periods', A, 0)]));
  const [inc] = ev.tick(tick(T0 + 1000, [counter('cpu_throttled_periods', A, 8), counter('cpu_periods', A, 10)]));
  assert.ok(inc, 'fires on the second condition');
  assert.equal(inc.value, 0.8);
  assert.equal(inc.threshold, 0.2);
  assert.equal(inc.stats.ratio, 0.8);
  assert.ok(Number.isFinite(inc.value));
});

test('a suppressed series retries each tick without rebuilding its incident, and is listed again after a restart', () => {
  const r = rateRule({
    mute: [{ cron: '0 10 * * *', durationMs: 60_000, timezone: 'UTC' }],
    annotations: { s: '{{ .value }}' },
  });
  const ev = new Evaluator(ruleSet([r]));
  run(ev, [30, 31, 32]);
  const [trip] = ev.suppressor.suppressed();
  assert.equal(trip.incident.value, 30, 'built once, at the first suppressed trip');
  assert.equal(ev.suppressor.counts.muted, 1);
  const again = new Evaluator(ruleSet([r]));
  again.restore(ev.snapshot(), T0 + 3000);
  run(again, [33], A, 3);
  assert.deepEqual(
    again.suppressor.suppressed().map((t) => [t.reason, t.incident.value]),
    [['muted', 33]],
  );
});

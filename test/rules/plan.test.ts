import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planFor, defaultProbes, DEFAULT_PROBES_BY_SOURCE } from '../../src/rules/plan.ts';
import { Evaluator } from '../../src/rules/evaluate/evaluate.ts';
import { SIGNALS } from '../../src/signals.ts';
import { cond, counter, rule, ruleSet, tick } from '../support/rule-fixtures.ts';

const A = { cgroup: '/kubepods/podx/web', cgroup_id: '9', container: 'web', pod_uid: 'x' };

function tripOf(r: ReturnType<typeof rule>) {
  const ev = new Evaluator(ruleSet([r]), { host: 'h' });
  const samples = [
    counter('runq_delay_over_threshold', A, 50),
    counter('tcp_retransmits', A, 50),
    counter('cpu_throttled_periods', A, 5),
    counter('cpu_periods', A, 10),
  ];
  const [inc] = ev.tick(tick(0, samples));
  assert.ok(inc);
  return inc;
}

test('defaults per signal family when the rule names no probes; every catalog family has defaults', () => {
  const r = rule({
    when: {
      all: [
        cond({ signal: 'runq_delay_over_threshold', stat: 'rate', windowMs: 1000, threshold: 1 }),
        cond({ signal: 'tcp_retransmits', stat: 'rate', windowMs: 1000, threshold: 1 }),
      ],
    },
  });
  const plan = planFor(r, tripOf(r));
  assert.deepEqual(
    plan.probes.map((p) => `${p.name}:${p.durationMs}`),
    ['runqslower:10000', 'offcpu:10000', 'profile:10000', 'tcp:10000'],
  );
  assert.deepEqual(defaultProbes(['cgroup_syscall_latency_seconds', 'blockio_latency_seconds']), [
    'syscalls',
    'offcpu',
    'io',
  ]);
  assert.deepEqual(defaultProbes(['cpu_throttled_periods']), ['runqslower', 'offcpu', 'profile']);
  assert.deepEqual(defaultProbes(['pg_query_latency_seconds']), ['pg']);
  for (const [name, s] of Object.entries(SIGNALS))
    assert.ok(DEFAULT_PROBES_BY_SOURCE[s.source]?.length, `${name} (${s.source}) has default probes`);
});

test("the rule's capture and actions, with template parameters rendered; nothing runs", () => {
  const r = rule({
    when: cond({
      signal: 'cpu_throttled_periods',
      ratioTo: 'cpu_periods',
      stat: 'rate',
      windowMs: 1000,
      threshold: 0.2,
    }),
    capture: {
      probes: ['offcpu', 'bpftrace'],
      durationMs: 5000,
      options: { offcpu: { min_us: 100 } },
      bpftrace: 'tracepoint:sched:sched_switch { @[comm] = count(); }',
    },
    actions: [
      { type: 'slack', channel: '#team-{{ .labels.cgroup | lower }}', mention: '@oncall' },
      {
        type: 'scale',
        target: 'auto',
        step: '+1',
        max: 4,
        cooldownMs: 600_000,
        dryRun: true,
        whenCause: ['limit-bound'],
        verifyMs: 120_000,
      },
      {
        type: 'webhook',
        url: 'https://hooks.example/{{ .rule }}',
        timeoutMs: 5000,
        headers: { 'x-value': '{{ .value | percent }}' },
      },
    ],
  });
  const inc = tripOf(r);
  const plan = planFor(r, inc);
  assert.equal(plan.incidentId, inc.id);
  assert.deepEqual(plan.target, inc.target);
  assert.deepEqual(plan.probes, [
    { name: 'offcpu', durationMs: 5000, options: { min_us: 100 } },
    {
      name: 'bpftrace',
      durationMs: 5000,
      options: { program: 'tracepoint:sched:sched_switch { @[comm] = count(); }' },
    },
  ]);
  assert.deepEqual(plan.actions, [
    { type: 'slack', params: { channel: '#team-/kubepods/podx/web', mention: '@oncall' } },
    {
      type: 'scale',
      params: {
        target: 'auto',
        step: '+1',
        max: 4,
        cooldownMs: 600_000,
        dryRun: true,
        whenCause: ['limit-bound'],
        verifyMs: 120_000,
      },
    },
    {
      type: 'webhook',
      params: { url: 'https://hooks.example/test-rule', timeoutMs: 5000, headers: { 'x-value': '50%' } },
    },
  ]);
});

test('default probes per signal when the rule names none (the capture manager runs the same function)', () => {
  assert.deepEqual(defaultProbes(['cpu_throttled_periods', 'cpu_periods']), ['runqslower', 'offcpu', 'profile']);
  assert.deepEqual(defaultProbes(['pg_query_latency_seconds', 'tcp_retransmits']), ['pg', 'tcp']);
  assert.deepEqual(defaultProbes(['something_new']), ['profile', 'offcpu']);
});

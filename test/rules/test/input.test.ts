import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTicks } from '../../../src/rules/test/input.ts';
import type { RuleTestSpec } from '../../../src/rules/parse/schema.ts';

const spec = (input: RuleTestSpec['input']): RuleTestSpec => ({
  rule_files: ['x.yaml'],
  interval: '1s',
  input,
  expect: [{ at: '0s', incidents: [] }],
});

test('counters: cumulative values become deltas; the first point is the baseline; a decrease is a reset; _ publishes nothing', () => {
  const ticks = buildTicks(
    spec([{ signal: 'tcp_retransmits', labels: { cgroup: '/a' }, values: '10 15 _ 25 3' }]),
    1000,
    0,
  );
  assert.deepEqual(
    ticks.map((t) => t.at),
    [0, 1000, 2000, 3000, 4000],
  );
  assert.deepEqual(
    ticks.map((t) => t.samples.map((s) => (s.kind === 'counter' ? s.delta : NaN))),
    [[], [5], [], [10], [3]],
  );
});

test('histograms: cumulative counts per upper bound become per-bucket deltas with a midpoint sum', () => {
  const ticks = buildTicks(
    spec([
      {
        signal: 'syscall_latency_seconds',
        labels: { syscall: 'read' },
        buckets: { '+Inf': '0 10 30', '1ms': '0 4 10', '4ms': '0 8 20' },
      },
    ]),
    1000,
    0,
    4,
  );
  assert.equal(ticks.length, 4, 'padded to minTicks');
  assert.equal(ticks[0].samples.length, 0);
  const s = ticks[2].samples[0];
  assert.ok(s.kind === 'histogram');
  assert.deepEqual(s.bounds, [0.001, 0.004, Infinity]);
  assert.deepEqual(s.deltas, [6, 6, 8]); // ≤1ms: 10-4; (1,4]: (20-8)-(10-4); >4ms: (30-10)-(20-8)
  assert.equal(s.countDelta, 20);
  assert.ok(Math.abs(s.sumDelta - (6 * 0.0005 + 6 * 0.0025 + 8 * 0.004)) < 1e-12);
});

test('gauges are published as they are', () => {
  const ticks = buildTicks(spec([{ signal: 'cpu_quota_cores', labels: { cgroup: '/a' }, values: '2 2.5' }]), 500, 1000);
  assert.deepEqual(
    ticks.map((t) => [t.at, t.intervalMs, t.samples.map((s) => (s.kind === 'gauge' ? s.value : NaN))]),
    [
      [1000, 500, [2]],
      [1500, 500, [2.5]],
    ],
  );
});

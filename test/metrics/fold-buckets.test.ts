import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  exportBounds,
  foldCounts,
  foldMap,
  FoldPlans,
  MAX_EXPORT_BUCKETS,
  SIGNAL_RANGES,
} from '../../src/metrics/fold-buckets.ts';
import { log2Bounds } from '../../src/samples.ts';

test('32 kernel log2 slots fold to at most 16 exact buckets inside the signal range', () => {
  for (const [signal, unit] of [
    ['runq_delay_seconds', 1e-6],
    ['syscall_latency_seconds', 1e-9],
    ['tcp_connect_latency_seconds', 1e-6],
    ['blockio_latency_seconds', 1e-6],
  ] as const) {
    const input = log2Bounds(32, unit);
    const out = exportBounds(input, SIGNAL_RANGES[signal]);
    assert.ok(out.length <= MAX_EXPORT_BUCKETS, `${signal}: ${out.length} buckets`);
    assert.equal(out.at(-1), Infinity);
    for (const b of out.slice(0, -1)) assert.ok(input.includes(b), `${signal}: ${b} is a kernel bound`);
    const [lo, hi] = SIGNAL_RANGES[signal];
    assert.ok(out[0] >= lo * 0.999 && out.at(-2)! <= hi * 1.001, `${signal}: ${out[0]}..${out.at(-2)} within range`);
    assert.ok(out.at(-2)! > hi / 2, `${signal}: the top of the range is resolved`);
  }
});

test('runq: 1 ms and 4 ms land in different buckets (the threshold region is resolved)', () => {
  const b = exportBounds(log2Bounds(32, 1e-6), SIGNAL_RANGES.runq_delay_seconds);
  const idx = (v: number): number => b.findIndex((x) => v <= x);
  assert.notEqual(idx(1e-3), idx(5e-3));
});

test('foldCounts keeps every observation and puts it under a bound at least its own', () => {
  const input = [1, 2, 4, 8, 16, Infinity];
  const out = [2, 8, Infinity];
  const map = foldMap(input, out);
  assert.deepEqual([...map], [0, 0, 1, 1, 2, 2]);
  assert.deepEqual(foldCounts([1, 2, 3, 4, 5, 6], map, out.length), [3, 7, 11]);
});

test('without a range every finite bound is a candidate; few bounds stay as they are', () => {
  assert.deepEqual(exportBounds([1, 2, 4, Infinity], undefined), [1, 2, 4, Infinity]);
  const many = Array.from({ length: 40 }, (_, i) => i + 1);
  const out = exportBounds(many, undefined);
  assert.ok(out.length <= 16);
  assert.equal(out.at(-2), 40);
});

test('FoldPlans caches by array identity and by value', () => {
  const p = new FoldPlans('runq_delay_seconds');
  const a = log2Bounds(32, 1e-6);
  assert.equal(p.plan(a), p.plan(a));
  assert.equal(p.plan(a), p.plan(log2Bounds(32, 1e-6)));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { advance, counterDelta, estimateSum, histogramDelta, newState } from '../../src/sampler/deltas.ts';
import type { Reading } from '../../src/probes/counters/types.ts';

const c = (value: number): Reading => ({ kind: 'counter', signal: 'cpu_periods', labels: { cgroup_id: '7' }, value });
const h = (counts: number[], sum?: number): Reading => ({
  kind: 'histogram',
  signal: 'runq_delay_seconds',
  labels: {},
  bounds: [1, 2, 4, Infinity],
  counts,
  sum,
});

test('counterDelta: growth, reset, wrap', () => {
  assert.equal(counterDelta(10, 15), 5);
  assert.equal(counterDelta(10, 10), 0);
  assert.equal(counterDelta(1000, 3), 3, 'restart: the new value is all new');
  assert.equal(counterDelta(2 ** 32 - 2, 5), 5, 'a wrap counts as a restart');
});

test('counter state: first reading is a baseline, totals never go down across a reset', () => {
  const s = newState(c(100), {}, '7');
  assert.equal(s.kind, 'counter');
  const a = advance(s, c(130), {});
  assert.deepEqual(a && a.kind === 'counter' && [a.delta, a.total], [30, 130]);
  const b = advance(s, c(4), {}); // family restarted
  assert.deepEqual(b && b.kind === 'counter' && [b.delta, b.total], [4, 134]);
  const d = advance(s, c(10), {});
  assert.deepEqual(d && d.kind === 'counter' && [d.delta, d.total], [6, 140]);
});

test('histogramDelta: per-bucket deltas; a bucket going down is a reset', () => {
  const b = [1, 2, Infinity];
  assert.deepEqual(histogramDelta(b, [1, 2, 3], b, [2, 2, 5]), { deltas: [1, 0, 2], reset: false });
  assert.deepEqual(histogramDelta(b, [1, 2, 3], b, [0, 3, 3]), { deltas: [0, 3, 3], reset: true });
  assert.deepEqual(histogramDelta(b, [1, 2, 3], [1, 2, 8, Infinity], [0, 1, 1, 1]), {
    deltas: [0, 1, 1, 1],
    reset: true,
  });
});

test('histogram state: deltas, kernel sum or bucket-midpoint estimate, monotonic across reset', () => {
  const s = newState(h([1, 0, 0, 0]), {}, undefined);
  const a = advance(s, h([3, 1, 0, 1]), {});
  assert.ok(a && a.kind === 'histogram');
  assert.deepEqual(a.deltas, [2, 1, 0, 1]);
  assert.equal(a.countDelta, 4);
  // no kernel sum: midpoints 0.5, 1.5 and the open bucket at its lower bound 4
  assert.equal(a.sumDelta, 2 * 0.5 + 1.5 + 4);
  const r = advance(s, h([1, 0, 0, 0]), {});
  assert.ok(r && r.kind === 'histogram');
  assert.deepEqual(r.deltas, [1, 0, 0, 0]);
  assert.ok(s.kind === 'histogram');
  assert.deepEqual(s.counts, [4, 1, 0, 1], 'accumulated counts keep growing');
  assert.equal(s.count, 6);

  const k = newState(h([0, 0, 0, 0], 0), {}, undefined);
  const x = advance(k, h([0, 2, 0, 0], 3.25), {});
  assert.equal(x && x.kind === 'histogram' && x.sumDelta, 3.25, 'kernel sum wins over the estimate');
});

test('estimateSum ignores empty buckets', () => {
  assert.equal(estimateSum([1, 2], [0, 0]), 0);
  assert.equal(estimateSum([1, Infinity], [0, 2]), 2);
});

test('a series that changes kind asks for a new state', () => {
  const s = newState(c(1), {}, '7');
  assert.equal(advance(s, { kind: 'gauge', signal: 'cpu_periods', labels: {}, value: 1 }, {}), null);
});

test('a series that does not move hands out the same sample (no allocation); any change gives a fresh one', () => {
  const labels = Object.freeze({ cgroup_id: '7' });
  const bounds = Object.freeze([1, 2, Infinity]);
  const c = newState({ kind: 'counter', signal: 'x', labels, value: 5 }, labels, '7');
  const c1 = advance(c, { kind: 'counter', signal: 'x', labels, value: 5 }, labels)!;
  assert.equal(advance(c, { kind: 'counter', signal: 'x', labels, value: 5 }, labels), c1, 'quiet counter');
  const c2 = advance(c, { kind: 'counter', signal: 'x', labels, value: 8 }, labels)!;
  assert.notEqual(c2, c1);
  assert.deepEqual([c2.kind === 'counter' && c2.delta, c2.kind === 'counter' && c2.total], [3, 8]);
  const c3 = advance(c, { kind: 'counter', signal: 'x', labels, value: 8 }, labels)!;
  assert.ok(c3.kind === 'counter' && c3.delta === 0 && c3.total === 8, 'after a move, one fresh zero-delta sample');
  assert.equal(advance(c, { kind: 'counter', signal: 'x', labels, value: 8 }, labels), c3);
  const other = Object.freeze({ cgroup_id: '7', cgroup: '/moved' });
  assert.notEqual(advance(c, { kind: 'counter', signal: 'x', labels, value: 8 }, other), c3, 'new labels: new sample');

  const h = newState({ kind: 'histogram', signal: 'h', labels, bounds, counts: [1, 0, 0], sum: 1 }, labels, '7');
  const read = (counts: number[], sum: number) =>
    advance(h, { kind: 'histogram', signal: 'h', labels, bounds, counts, sum }, labels)!;
  const h1 = read([1, 0, 0], 1);
  assert.ok(h1.kind === 'histogram' && h1.countDelta === 0 && h1.deltas.every((d) => d === 0));
  assert.equal(read([1, 0, 0], 1), h1, 'quiet histogram');
  const h2 = read([1, 2, 0], 4);
  assert.ok(h2.kind === 'histogram');
  assert.deepEqual([...h2.deltas], [0, 2, 0]);
  assert.equal(h2.countDelta, 2);
  assert.equal(h2.sumDelta, 3);
  const h3 = read([1, 2, 0], 4);
  assert.ok(h3 !== h2 && h3.kind === 'histogram' && h3.countDelta === 0 && h3.sumDelta === 0);
  assert.ok(h.kind === 'histogram' && h.count === 3 && h.sum === 4, 'totals kept');
});

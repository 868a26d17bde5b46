import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CgroupHistory } from '../../src/sampler/history.ts';

const tickOf = (entries: Record<string, Record<string, number>>): Map<string, Map<string, number>> =>
  new Map(Object.entries(entries).map(([id, kv]) => [id, new Map(Object.entries(kv))]));

test('keeps the last `capacity` ticks of a cgroup, oldest first, filtered by time', () => {
  const h = new CgroupHistory(3);
  for (let i = 1; i <= 5; i++) h.record(i * 1000, tickOf({ a: { x: i } }));
  assert.deepEqual(
    h.query('a', 0).map((p) => p.values.x),
    [3, 4, 5],
  );
  assert.deepEqual(
    h.query('a', 4000).map((p) => p.at),
    [4000, 5000],
  );
  assert.deepEqual(h.query('zzz', 0), []);
});

test('a key missing in a tick is absent from that point, not stale', () => {
  const h = new CgroupHistory(4);
  h.record(1, tickOf({ a: { x: 1, y: 10 } }));
  h.record(2, tickOf({ a: { x: 2 } }));
  assert.deepEqual(
    h.query('a', 0).map((p) => p.values),
    [{ x: 1, y: 10 }, { x: 2 }],
  );
});

test('a cgroup absent from a tick has no point there; silent for a whole window it is forgotten', () => {
  const h = new CgroupHistory(2);
  h.record(1, tickOf({ a: { x: 1 }, b: { x: 1 } }));
  h.record(2, tickOf({ b: { x: 2 } }));
  assert.deepEqual(
    h.query('a', 0).map((p) => p.at),
    [1],
  );
  h.record(3, tickOf({ b: { x: 3 } }));
  assert.equal(h.size, 1);
});

test('caps cgroups and keys, counting what it drops', () => {
  const h = new CgroupHistory(10, { maxCgroups: 2, maxKeys: 1 });
  h.record(1, tickOf({ a: { x: 1, y: 2 }, b: { x: 1 }, c: { x: 1 } }));
  assert.equal(h.size, 2);
  assert.equal(h.dropped, 2);
});

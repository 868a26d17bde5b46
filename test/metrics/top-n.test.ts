import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectTop, decayScore } from '../../src/metrics/top-n.ts';

const m = (o: Record<string, number>): Map<string, number> => new Map(Object.entries(o));

test('fills free slots by activity, zero activity included', () => {
  assert.deepEqual([...selectTop(new Set(), m({ a: 0, b: 5, c: 1 }), 2)].sort(), ['b', 'c']);
  assert.deepEqual([...selectTop(new Set(), m({ a: 0 }), 2)], ['a']);
});

test('sticky: a member stays unless someone is twice as active', () => {
  assert.deepEqual([...selectTop(new Set(['a']), m({ a: 10, b: 15 }), 1)], ['a']);
  assert.deepEqual([...selectTop(new Set(['a']), m({ a: 10, b: 25 }), 1)], ['b']);
});

test('vanished members leave; a smaller N keeps the most active', () => {
  assert.deepEqual([...selectTop(new Set(['gone', 'a']), m({ a: 1, b: 2 }), 2)].sort(), ['a', 'b']);
  assert.deepEqual([...selectTop(new Set(['a', 'b', 'c']), m({ a: 1, b: 3, c: 2 }), 2)].sort(), ['b', 'c']);
});

test('several swaps in one round, weakest first', () => {
  const next = selectTop(new Set(['a', 'b', 'c']), m({ a: 1, b: 2, c: 100, d: 50, e: 5, f: 0 }), 3);
  assert.deepEqual([...next].sort(), ['c', 'd', 'e']);
  const once = selectTop(new Set(['a', 'b', 'c']), m({ a: 1, b: 2, c: 100, d: 50, e: 3 }), 3);
  assert.deepEqual([...once].sort(), ['b', 'c', 'd'], 'e is not twice as active as b');
});

test('decayScore halves the past and adds the present', () => {
  assert.equal(decayScore(undefined, 3), 3);
  assert.equal(decayScore(8, 1), 5);
});

// Coalescing of network-side notifications: the first value at once, then at most one per interval, the latest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coalesce } from '../../src/split/coalesce.ts';

test('the first value applies at once; a burst applies once more, after the interval, with its last value', async () => {
  const seen: number[] = [];
  const push = coalesce(100, (v: number) => seen.push(v));
  push(1);
  assert.deepEqual(seen, [1]);
  for (let i = 2; i <= 50; i++) push(i);
  assert.deepEqual(seen, [1], 'nothing more within the interval');
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(seen, [1, 50]);
  await new Promise((r) => setTimeout(r, 150));
  push(51);
  assert.deepEqual(seen, [1, 50, 51], 'after a quiet interval, at once again');
});

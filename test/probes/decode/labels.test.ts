import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CgroupLabels, freshCgroupLabels } from '../../../src/probes/decode/labels.ts';

const key = (id: bigint, at = 0): Buffer => {
  const b = Buffer.alloc(at + 8);
  b.writeBigUInt64LE(id, at);
  return b;
};

test('cgroup labels: one frozen object per cgroup across reads; cgroups a read did not see are forgotten', () => {
  const cache = new CgroupLabels();
  const a = cache.of(key(4242n), 0);
  assert.deepEqual(a, { cgroup_id: '4242' });
  assert.ok(Object.isFrozen(a));
  assert.equal(cache.of(key(4242n), 0), a, 'same read');
  const b = cache.of(key(7n, 8), 8);
  assert.deepEqual(b, { cgroup_id: '7' }, 'offset honoured');
  cache.sweep();
  assert.equal(cache.of(key(4242n), 0), a, 'next read: same object');
  cache.sweep(); // 7 was not seen in that read
  cache.sweep();
  assert.notEqual(cache.of(key(7n), 0), b, 'a cgroup gone for a read gets new labels when it comes back');
  assert.equal(cache.of(key(4242n), 0).cgroup_id, '4242');
});

test('cgroup labels: ids past 2^53 are exact (no rounding through a number)', () => {
  const big = (1n << 60n) + 3n;
  assert.equal(new CgroupLabels().of(key(big), 0).cgroup_id, big.toString());
  assert.equal(freshCgroupLabels(key(big), 0).cgroup_id, big.toString());
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RUNQ, decodeRunqEntry } from '../../../src/probes/decode/runq.ts';
import { HIST_SLOTS } from '../../../src/probes/decode/hist.ts';
import { hasCode } from '../../../src/errors.ts';
import { perCpuBytes } from './fixtures/per-cpu.ts';

const key = (id: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(id);
  return b;
};
/** struct runq_val words: 32 slots, sum (µs), over. */
const val = (slots: Record<number, number>, sum: number, over: number): number[] => {
  const w = new Array<number>(HIST_SLOTS + 2).fill(0);
  for (const [s, n] of Object.entries(slots)) w[Number(s)] = n;
  w[HIST_SLOTS] = sum;
  w[HIST_SLOTS + 1] = over;
  return w;
};

test('runq entry → histogram in seconds and over-threshold counter, CPUs summed, cgroup id as decimal', () => {
  const id = 2n ** 40n + 17n;
  const value = perCpuBytes([val({ 3: 2, 14: 1 }, 6010, 1), val({ 3: 1 }, 5, 0)]);
  const [h, c] = decodeRunqEntry(key(id), value, 2);
  assert.equal(h.kind, 'histogram');
  assert.equal(c.kind, 'counter');
  if (h.kind !== 'histogram' || c.kind !== 'counter') return;
  assert.deepEqual(h.labels, { cgroup_id: '1099511627793' });
  assert.equal(h.signal, 'runq_delay_seconds');
  assert.equal(h.counts[3], 3);
  assert.equal(h.counts[14], 1);
  assert.equal(h.bounds[3], 8e-6);
  assert.ok(Math.abs(h.sum! - 0.006015) < 1e-12);
  assert.deepEqual(c, {
    kind: 'counter',
    signal: 'runq_delay_over_threshold',
    labels: { cgroup_id: '1099511627793' },
    value: 1,
  });
});

test('an entry with no observations yields nothing', () => {
  assert.deepEqual(decodeRunqEntry(key(5n), perCpuBytes([val({}, 0, 0), val({}, 0, 0)]), 2), []);
});

test('wrong key or value length is rejected', () => {
  const value = perCpuBytes([val({ 1: 1 }, 1, 0)]);
  assert.throws(
    () => decodeRunqEntry(Buffer.alloc(4), value, 1),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
  assert.throws(
    () => decodeRunqEntry(key(1n), value, 2),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
  assert.throws(
    () => decodeRunqEntry(key(1n), value.subarray(8), 1),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
  assert.equal(RUNQ.valueSize, 272);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePgLatencyEntry, PG_QUERY_KINDS, PG } from '../../../src/probes/decode/pg.ts';
import { HIST_SLOTS, HIST_SIZE } from '../../../src/probes/decode/hist.ts';
import { hasCode } from '../../../src/errors.ts';
import { perCpuBytes } from './fixtures/per-cpu.ts';

/** struct pg_key bytes: __u64 cgroup id, __u32 kind, __u32 pad. */
const key = (cgroup: bigint, kind: number): Buffer => {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(cgroup, 0);
  b.writeUInt32LE(kind, 8);
  return b;
};
const words = (slots: Record<number, number>, sum: number): number[] => {
  const w = new Array<number>(HIST_SLOTS + 1).fill(0);
  for (const [s, n] of Object.entries(slots)) w[Number(s)] = n;
  w[HIST_SLOTS] = sum;
  return w;
};

test('latency entry → histogram in seconds labelled with cgroup_id and query_kind, summed over CPUs', () => {
  // CPU 0: one 300 µs SELECT (slot 9: [256, 512) µs); CPU 1: one 200 ms SELECT (slot 18: [131072, 262144) µs).
  const [r] = decodePgLatencyEntry(
    key(4026531835n, 0),
    perCpuBytes([words({ 9: 1 }, 300), words({ 18: 1 }, 200_000)]),
    2,
  );
  assert.ok(r.kind === 'histogram');
  assert.equal(r.signal, 'pg_query_latency_seconds');
  assert.deepEqual(r.labels, { cgroup_id: '4026531835', query_kind: 'SELECT' });
  assert.equal(r.counts[9], 1);
  assert.equal(r.counts[18], 1);
  assert.equal(r.bounds[9], 512e-6);
  assert.equal(r.bounds[18], 0.262144);
  assert.equal(r.sum, 0.2003);
});

test('every kernel kind value has a label, in the header order', () => {
  assert.deepEqual(PG_QUERY_KINDS, ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'OTHER']);
  for (let k = 0; k < PG_QUERY_KINDS.length; k++) {
    const [r] = decodePgLatencyEntry(key(7n, k), perCpuBytes([words({ 1: 1 }, 1)]), 1);
    assert.equal(r.labels.query_kind, PG_QUERY_KINDS[k]);
  }
});

test('an entry with no observations yields no reading', () => {
  assert.deepEqual(decodePgLatencyEntry(key(7n, 1), perCpuBytes([words({}, 0), words({}, 0)]), 2), []);
});

test('unknown kinds and wrong sizes are rejected with PROBE_ERR_LAYOUT', () => {
  const v = perCpuBytes([words({ 1: 1 }, 1)]);
  assert.throws(
    () => decodePgLatencyEntry(key(7n, 5), v, 1),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
  assert.throws(
    () => decodePgLatencyEntry(Buffer.alloc(8), v, 1),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
  assert.throws(
    () => decodePgLatencyEntry(key(7n, 0), v, 2),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
  assert.equal(PG.valueSize, HIST_SIZE);
});

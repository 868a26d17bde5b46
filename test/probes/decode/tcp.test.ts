import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTcpConnectEntry, decodeTcpRetransEntry } from '../../../src/probes/decode/tcp.ts';
import { HIST_SLOTS } from '../../../src/probes/decode/hist.ts';
import { hasCode } from '../../../src/errors.ts';
import { perCpuBytes } from './fixtures/per-cpu.ts';

const key = (id: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(id);
  return b;
};

test('connect latency entry → histogram in seconds per cgroup', () => {
  const w = new Array<number>(HIST_SLOTS + 1).fill(0);
  w[7] = 2; // [64, 128) µs
  w[HIST_SLOTS] = 200;
  const [r] = decodeTcpConnectEntry(key(42n), perCpuBytes([w, w]), 2);
  assert.ok(r.kind === 'histogram');
  assert.deepEqual(r.labels, { cgroup_id: '42' });
  assert.equal(r.counts[7], 4);
  assert.equal(r.bounds[7], 128e-6);
  assert.equal(r.sum, 400e-6);
});

test('retransmits are summed over CPUs; cgroup 0 means owner unknown', () => {
  assert.deepEqual(decodeTcpRetransEntry(key(0n), perCpuBytes([[3], [4]]), 2), [
    { kind: 'counter', signal: 'tcp_retransmits', labels: { cgroup_id: '0' }, value: 7 },
  ]);
});

test('wrong sizes are rejected', () => {
  assert.throws(
    () => decodeTcpRetransEntry(key(1n), perCpuBytes([[3], [4]]), 3),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
  assert.throws(
    () => decodeTcpConnectEntry(Buffer.alloc(4), Buffer.alloc(264), 1),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCgroupCounterEntry } from '../../../src/probes/decode/cgroup-counter.ts';
import { syscallMask } from '../../../src/probes/decode/syscalls.ts';
import { syscallTable } from '../../../src/probes/syscall-names.ts';
import { hasCode } from '../../../src/errors.ts';

const key = (id: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(id);
  return b;
};
const perCpu = (...v: number[]): Buffer => {
  const b = Buffer.alloc(8 * v.length);
  v.forEach((x, i) => b.writeBigUInt64LE(BigInt(x), i * 8));
  return b;
};

test('per-cgroup counters: CPUs summed, scaled, labelled with the cgroup id; zero is no series; wrong sizes fail', () => {
  assert.deepEqual(decodeCgroupCounterEntry('blockio_issued_bytes', 1, key(4242n), perCpu(4096, 8192), 2), [
    { kind: 'counter', signal: 'blockio_issued_bytes', labels: { cgroup_id: '4242' }, value: 12288 },
  ]);
  const [ns] = decodeCgroupCounterEntry('t', 1e-9, key(7n), perCpu(1_500_000_000, 500_000_000), 2);
  assert.ok(ns.kind === 'counter' && Math.abs(ns.value - 2) < 1e-12, 'ns to seconds');
  assert.deepEqual(decodeCgroupCounterEntry('t', 1, key(7n), perCpu(0, 0), 2), []);
  assert.throws(
    () => decodeCgroupCounterEntry('t', 1, Buffer.alloc(4), perCpu(1), 1),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
  assert.throws(
    () => decodeCgroupCounterEntry('t', 1, key(1n), perCpu(1), 2),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
});

test('the twin mask: one bit per named syscall of the table; names it lacks are returned, not guessed', () => {
  const x64 = syscallTable('x64')!;
  const { mask, unknown } = syscallMask(['read', 'fsync', 'open', 'no_such_call'], x64);
  const bit = (nr: number): boolean => ((mask[nr >> 3] >> (nr & 7)) & 1) === 1;
  // x86_64: read 0, open 2, fsync 74.
  assert.deepEqual([bit(0), bit(2), bit(74), bit(1), bit(232)], [true, true, true, false, false]);
  assert.equal(mask.length, 64);
  assert.deepEqual(unknown, ['no_such_call']);
  // arm64 has no open(2): left out, its read is 63.
  const arm = syscallMask(['read', 'open'], syscallTable('arm64')!);
  assert.deepEqual(arm.unknown, ['open']);
  assert.equal((arm.mask[63 >> 3] >> (63 & 7)) & 1, 1);
});

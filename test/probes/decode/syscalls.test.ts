import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeCgroupSyscallEntry,
  decodeSyscallEntry,
  cgroupWatchKey,
  pidWatchKey,
} from '../../../src/probes/decode/syscalls.ts';
import { HIST_SLOTS } from '../../../src/probes/decode/hist.ts';
import { syscallName } from '../../../src/probes/syscall-names.ts';
import { hasCode } from '../../../src/errors.ts';
import { perCpuBytes } from './fixtures/per-cpu.ts';

const hist = (slot: number, n: number, sum: number): number[] => {
  const w = new Array<number>(HIST_SLOTS + 1).fill(0);
  w[slot] = n;
  w[HIST_SLOTS] = sum;
  return w;
};
const name = (nr: number) => syscallName(nr, 'x64');

test('per-syscall entry → histogram labelled with the syscall name, ns → seconds', () => {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(0);
  const [r] = decodeSyscallEntry(key, perCpuBytes([hist(9, 1000, 300_000), hist(9, 500, 150_000)]), 2, name);
  assert.ok(r.kind === 'histogram');
  assert.deepEqual(r.labels, { syscall: 'read' });
  assert.equal(r.counts[9], 1500);
  assert.equal(r.bounds[9], 512e-9);
  assert.ok(Math.abs(r.sum! - 450e-6) < 1e-15);
});

test('per-cgroup entry → cgroup id and syscall labels; padding ignored', () => {
  const key = Buffer.alloc(16);
  key.writeBigUInt64LE(4026531835n, 0);
  key.writeUInt32LE(1, 8);
  const [r] = decodeCgroupSyscallEntry(key, perCpuBytes([hist(2, 1, 3)]), 1, name);
  assert.deepEqual(r.labels, { cgroup_id: '4026531835', syscall: 'write' });
  assert.equal(decodeCgroupSyscallEntry(key, perCpuBytes([hist(2, 0, 0)]), 1, name).length, 0);
});

test('wrong sizes are rejected', () => {
  assert.throws(
    () => decodeSyscallEntry(Buffer.alloc(8), perCpuBytes([hist(1, 1, 1)]), 1, name),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
  assert.throws(
    () => decodeCgroupSyscallEntry(Buffer.alloc(12), perCpuBytes([hist(1, 1, 1)]), 1, name),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
});

test('watch keys are little-endian u64 cgroup ids and u32 pids', () => {
  assert.equal(cgroupWatchKey(0x0102030405060708n).toString('hex'), '0807060504030201');
  assert.equal(pidWatchKey(258).toString('hex'), '02010000');
});

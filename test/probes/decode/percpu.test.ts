import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sumPerCpu, u64, expectLength } from '../../../src/probes/decode/percpu.ts';
import { hasCode } from '../../../src/errors.ts';
import { perCpuBytes } from './fixtures/per-cpu.ts';

test('u64 reads values past 2^32 exactly', () => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(2n ** 40n + 7n);
  assert.equal(u64(b, 0), 2 ** 40 + 7);
});

test('sumPerCpu adds each word across CPUs', () => {
  const v = perCpuBytes([
    [1, 2, 2n ** 33n],
    [10, 0, 5],
    [100, 3, 0],
  ]);
  assert.deepEqual([...sumPerCpu(v, 24, 3, 'm')], [111, 5, 2 ** 33 + 5]);
});

test('sumPerCpu rejects a buffer of the wrong length, naming the map', () => {
  const v = perCpuBytes([
    [1, 2],
    [3, 4],
  ]);
  assert.throws(
    () => sumPerCpu(v, 16, 3, 'runq_delay value'),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT') && /runq_delay value: 32 bytes, expected 48/.test(e.message),
  );
  assert.throws(
    () => sumPerCpu(v, 12, 2, 'x'),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
});

test('expectLength accepts the exact size only', () => {
  expectLength(Buffer.alloc(8), 8, 'k');
  assert.throws(
    () => expectLength(Buffer.alloc(7), 8, 'k'),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
});

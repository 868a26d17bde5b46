import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBlockioEntry, devName, parseUeventDevname } from '../../../src/probes/decode/blockio.ts';
import { HIST_SLOTS } from '../../../src/probes/decode/hist.ts';
import { hasCode } from '../../../src/errors.ts';
import { perCpuBytes } from './fixtures/per-cpu.ts';

const key = (major: number, minor: number, op: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(((major << 20) | minor) >>> 0, 0);
  b.writeUInt32LE(op, 4);
  return b;
};
const hist = (): number[] => {
  const w = new Array<number>(HIST_SLOTS + 1).fill(0);
  w[8] = 5;
  w[HIST_SLOTS] = 900;
  return w;
};

test('dev_t decoding: major << 20 | minor', () => {
  assert.equal(devName((254 << 20) | 0), '254:0');
  assert.equal(devName(((259 << 20) | 3) >>> 0), '259:3');
  assert.equal(devName(((4095 << 20) | 0xfffff) >>> 0), '4095:1048575');
});

test('entry → histogram labelled with the device name and op', () => {
  const seen: string[] = [];
  const [r] = decodeBlockioEntry(key(254, 0, 1), perCpuBytes([hist()]), 1, (mm) => {
    seen.push(mm);
    return 'vda';
  });
  assert.deepEqual(seen, ['254:0']);
  assert.deepEqual(r.labels, { device: 'vda', op: 'write' });
  assert.ok(r.kind === 'histogram' && r.counts[8] === 5 && r.sum === 900e-6);
  const ops = [0, 1, 2, 3, 4, 9].map(
    (op) => decodeBlockioEntry(key(8, 0, op), perCpuBytes([hist()]), 1, (mm) => mm)[0].labels.op,
  );
  assert.deepEqual(ops, ['read', 'write', 'flush', 'discard', 'other', 'other']);
});

test('uevent DEVNAME parsing', () => {
  assert.equal(parseUeventDevname('MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n'), 'vda');
  assert.equal(parseUeventDevname('MAJOR=259\nMINOR=0\nDEVNAME=nvme0n1\n'), 'nvme0n1');
  assert.equal(parseUeventDevname('MAJOR=1\n'), undefined);
});

test('wrong sizes are rejected', () => {
  assert.throws(
    () => decodeBlockioEntry(Buffer.alloc(16), perCpuBytes([hist()]), 1, (m) => m),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
  assert.throws(
    () => decodeBlockioEntry(key(1, 1, 0), perCpuBytes([hist()]), 2, (m) => m),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HIST_SLOTS, HIST_SIZE, decodeHist, histBounds, histEmpty, histSlot } from '../../../src/probes/decode/hist.ts';
import { hasCode } from '../../../src/errors.ts';

test('the histogram is HIST_SLOTS counters plus a sum, all u64', () => {
  assert.equal(HIST_SLOTS, 32);
  assert.equal(HIST_SIZE, 264);
});

test('decodeHist reads counts and sum from word offset', () => {
  const words = new Float64Array(1 + HIST_SLOTS + 1);
  words[0] = 99; // a field before the histogram
  words[1 + 3] = 4;
  words[1 + HIST_SLOTS - 1] = 1;
  words[1 + HIST_SLOTS] = 12345;
  const h = decodeHist(words, 1);
  assert.equal(h.counts.length, HIST_SLOTS);
  assert.equal(h.counts[3], 4);
  assert.equal(h.counts[HIST_SLOTS - 1], 1);
  assert.equal(h.sum, 12345);
  assert.equal(histEmpty(h), false);
  assert.equal(histEmpty(decodeHist(new Float64Array(HIST_SLOTS + 1))), true);
});

test('decodeHist rejects too few words', () => {
  assert.throws(
    () => decodeHist(new Float64Array(HIST_SLOTS)),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
});

test('slots follow bpf/hist.h: 0 → 0, [2^(i-1), 2^i) → i, clamped to the last slot', () => {
  assert.equal(histSlot(0), 0);
  assert.equal(histSlot(1), 1);
  assert.equal(histSlot(2), 2);
  assert.equal(histSlot(3), 2);
  assert.equal(histSlot(4), 3);
  assert.equal(histSlot(1023), 10);
  assert.equal(histSlot(1024), 11);
  assert.equal(histSlot(2 ** 40), HIST_SLOTS - 1);
});

test('bounds are upper bounds in seconds with an open last bucket', () => {
  const us = histBounds(1000);
  assert.equal(us.length, HIST_SLOTS);
  assert.equal(us[0], 1e-6); // slot 0 holds 0 µs
  assert.equal(us[10], 1024e-6); // slot 10 holds [512, 1024) µs
  assert.equal(us[HIST_SLOTS - 1], Infinity);
  assert.equal(histBounds(1)[20], 2 ** 20 * 1e-9);
  // Every value lands in a bucket whose bound is above it.
  for (const v of [0, 1, 5, 999, 5000, 123456]) assert.ok(v * 1e-6 < us[histSlot(v)]);
});

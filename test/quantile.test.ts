import { test } from 'node:test';
import assert from 'node:assert/strict';
import { histogramQuantile, sampleQuantile } from '../src/quantile.ts';
import { BOUNDS } from './support/rule-fixtures.ts';

const close = (a: number, b: number, eps = 1e-12): void => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

test('histogram quantiles interpolate linearly inside the bucket holding the rank (hand-computed)', () => {
  // 100 observations: 10 in (0,1ms], 20 in (1,2ms], 30 in (2,4ms], 40 in (4,8ms].
  const counts = [10, 20, 30, 40, 0];
  close(histogramQuantile(0.1, BOUNDS, counts), 0.001); // rank 10: end of bucket 0
  close(histogramQuantile(0.5, BOUNDS, counts), 0.002 + 0.002 * (20 / 30)); // rank 50: 20 of 30 into (2,4ms]
  close(histogramQuantile(0.9, BOUNDS, counts), 0.007); // rank 90: 30 of 40 into (4,8ms]
  close(histogramQuantile(0.99, BOUNDS, counts), 0.0079); // rank 99: 39 of 40
  close(histogramQuantile(0.999, [0.001, Infinity], [1000, 0]), 0.000999);
});

test('a rank in the +Inf bucket yields the last finite bound; empty histograms are NaN', () => {
  close(histogramQuantile(0.5, BOUNDS, [0, 0, 0, 1, 9]), 0.008);
  close(histogramQuantile(0.05, BOUNDS, [0, 0, 0, 1, 9]), 0.004 + 0.004 * 0.5); // rank 0.5 of 1 in (4,8ms]
  assert.ok(Number.isNaN(histogramQuantile(0.99, BOUNDS, [0, 0, 0, 0, 0])));
});

// These were the deep probes' own quantile (the upper bound of the bucket holding the rank), now the one
// interpolating function: each number moves down inside its bucket, except a rank in the open-ended bucket.
test('the cases of the former deep-probe quantile, with the interpolated answers', () => {
  const bounds = [1, 2, 4, 8, Infinity];
  assert.ok(Number.isNaN(histogramQuantile(0.5, bounds, [0, 0, 0, 0, 0]))); // was 0 (latencySummary keeps 0)
  close(histogramQuantile(0.99, bounds, [0, 10, 0, 0, 0]), 1.99); // was 2: rank 9.9 of 10 into (1,2]
  close(histogramQuantile(0.5, bounds, [0, 90, 0, 10, 0]), 1 + 50 / 90); // was 2: rank 50 of 90 into (1,2]
  close(histogramQuantile(0.99, bounds, [0, 90, 0, 10, 0]), 7.6); // was 8: rank 99, 9 of 10 into (4,8]
  assert.equal(histogramQuantile(0.99, bounds, [0, 1, 0, 0, 1]), 8, 'open-ended bucket: its lower bound');
});

test('sample quantiles are nearest-rank: always a value that was seen', () => {
  const xs = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  assert.equal(sampleQuantile(xs, 0.5), 5);
  assert.equal(sampleQuantile(xs, 0.9), 9);
  assert.equal(sampleQuantile(xs, 0.99), 10);
  assert.equal(sampleQuantile(xs, 0), 1);
  assert.equal(sampleQuantile([0.25], 0.99), 0.25);
  assert.ok(Number.isNaN(sampleQuantile([], 0.5)));
  assert.deepEqual(xs, [5, 1, 4, 2, 3, 10, 9, 8, 7, 6], 'input left as it was');
});

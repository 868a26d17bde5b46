import { test } from 'node:test';
import assert from 'node:assert/strict';
import { histQuantile } from '../../../src/probes/deep/quantile.ts';

test('quantiles are the upper bound of the bucket that holds them', () => {
  const bounds = [1, 2, 4, 8, Infinity];
  assert.equal(histQuantile([0, 0, 0, 0, 0], bounds, 0.5), 0);
  assert.equal(histQuantile([0, 10, 0, 0, 0], bounds, 0.99), 2);
  assert.equal(histQuantile([0, 90, 0, 10, 0], bounds, 0.5), 2);
  assert.equal(histQuantile([0, 90, 0, 10, 0], bounds, 0.99), 8);
  assert.equal(histQuantile([0, 1, 0, 0, 1], bounds, 0.99), 8, 'open-ended bucket: its lower bound');
});

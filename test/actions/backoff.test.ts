/** Backoff: doubles per attempt, jitter within [d/2, d], capped. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, MAX_BACKOFF_MS } from '../../src/actions/backoff.ts';

test('exponential with equal jitter', () => {
  assert.equal(
    backoffDelay(1, 1000, () => 0),
    500,
  );
  assert.equal(
    backoffDelay(1, 1000, () => 1),
    1000,
  );
  assert.equal(
    backoffDelay(3, 1000, () => 1),
    4000,
  );
  assert.equal(
    backoffDelay(3, 1000, () => 0),
    2000,
  );
  for (let a = 1; a < 10; a++) {
    const d = backoffDelay(a, 100);
    assert.ok(d >= (100 * 2 ** (a - 1)) / 2 && d <= 100 * 2 ** (a - 1), `attempt ${a}: ${d}`);
  }
});

test('capped, also for absurd attempt numbers', () => {
  assert.equal(
    backoffDelay(50, 1000, () => 1),
    MAX_BACKOFF_MS,
  );
  assert.equal(
    backoffDelay(10_000, 1000, () => 1),
    MAX_BACKOFF_MS,
  );
});

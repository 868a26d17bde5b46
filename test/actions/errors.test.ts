/** Action errors: classes map to queue fates; Retry-After parsing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RateLimitedError,
  RetryableError,
  UnrecoverableError,
  classify,
  parseRetryAfter,
} from '../../src/actions/errors.ts';
import { TriplineError } from '../../src/errors.ts';

test('each class has its code and fate; unknown errors retry', () => {
  assert.equal(new RetryableError('x').code, 'ACTION_ERR_RETRYABLE');
  assert.equal(new UnrecoverableError('x').code, 'ACTION_ERR_UNRECOVERABLE');
  assert.equal(new RateLimitedError('x', 1500).code, 'ACTION_ERR_RATE_LIMITED');
  assert.deepEqual(classify(new RateLimitedError('x', 1500)), {
    kind: 'rate-limited',
    reason: 'rate_limited',
    retryAfterMs: 1500,
  });
  assert.deepEqual(classify(new UnrecoverableError('x', { reason: 'http_404' })), {
    kind: 'unrecoverable',
    reason: 'http_404',
  });
  assert.deepEqual(classify(new RetryableError('x', { reason: 'timeout' })), { kind: 'retryable', reason: 'timeout' });
  assert.deepEqual(classify(new TriplineError('ACTION_ERR_REDIS', 'x')), {
    kind: 'retryable',
    reason: 'action_err_redis',
  });
  assert.deepEqual(classify(new TypeError('boom')), { kind: 'retryable', reason: 'error' });
  assert.ok(new RetryableError('x') instanceof TriplineError);
});

test('a rate-limit wait is at least 1 ms and never NaN', () => {
  assert.equal(new RateLimitedError('x', 0).retryAfterMs, 1);
  assert.equal(new RateLimitedError('x', Number.NaN).retryAfterMs, 1000);
});

test('Retry-After: seconds, HTTP date, garbage', () => {
  assert.equal(parseRetryAfter('3', 1000), 3000);
  assert.equal(parseRetryAfter('0.5', 1000), 500);
  assert.equal(
    parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', 1000, Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')),
    10_000,
  );
  assert.equal(parseRetryAfter('soon', 1000), 1000);
  assert.equal(parseRetryAfter(null, 1234), 1234);
});

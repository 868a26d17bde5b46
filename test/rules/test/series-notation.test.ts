// The series notation of rule tests expands exactly as documented in docs/rules.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSeries, MAX_SERIES_POINTS } from '../../../src/rules/test/series-notation.ts';
import { parseBucketBound } from '../../../src/rules/test/compile-test.ts';
import { TriplineError } from '../../../src/errors.ts';

test('values, gaps, steps and repeats', () => {
  assert.deepEqual(parseSeries('1 2 3'), [1, 2, 3]);
  assert.deepEqual(parseSeries('0+30x3'), [0, 30, 60, 90]);
  assert.deepEqual(parseSeries('10-2x2'), [10, 8, 6]);
  assert.deepEqual(parseSeries('5x2'), [5, 5, 5]);
  assert.deepEqual(parseSeries('1 _ 3 _x2 4'), [1, null, 3, null, null, 4]);
  assert.deepEqual(parseSeries('  -1.5 1e3 0.5+0.25x2 '), [-1.5, 1000, 0.5, 0.75, 1]);
  assert.equal(parseSeries('0+30x60').length, 61);
});

test('bad notation is a RULE_ERR_TEST with the fix', () => {
  const msg = (s: string) => {
    try {
      parseSeries(s);
      return 'ok';
    } catch (e) {
      assert.ok(e instanceof TriplineError && e.code === 'RULE_ERR_TEST');
      return `${e.message} | ${e.hint}`;
    }
  };
  assert.equal(msg('0+30'), 'series token "0+30" has a step but no count | write 0+30x10 for 11 values');
  assert.equal(msg('a b'), `bad series token "a" | write values like '0+30x60', '1 2 _ 4' or '5x10'`);
  assert.equal(msg('_+1x3'), `bad series token "_+1x3" | write values like '0+30x60', '1 2 _ 4' or '5x10'`);
  assert.equal(msg(''), "series is empty | write values like '0+30x60'");
  assert.equal(
    msg(`0x${MAX_SERIES_POINTS}`),
    `series has more than ${MAX_SERIES_POINTS} points | shorten the test or raise its interval`,
  );
  assert.equal(
    msg('0x99999999999'),
    `series has more than ${MAX_SERIES_POINTS} points | shorten the test or raise its interval`,
  );
});

test('bucket bounds are durations or base-unit numbers, and +Inf', () => {
  assert.deepEqual(['5ms', '0.005', '1s', '250us', '+Inf'].map(parseBucketBound), [0.005, 0.005, 1, 0.00025, Infinity]);
  for (const b of ['fast', '5%', '10/s', 'inf'])
    assert.throws(() => parseBucketBound(b), /is not a number or a duration/);
});

// Units of thresholds and durations against the signal catalog: each accepted form converts to base
// units, each wrong or missing unit names the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkSignal,
  checkStat,
  parseDuration,
  parseQuantity,
  parseThreshold,
  thresholdUnit,
  STATS,
  STATS_BY_KIND,
} from '../../../src/rules/compile/units.ts';
import { signalSpec } from '../../../src/signals.ts';
import { TriplineError } from '../../../src/errors.ts';

function fails(fn: () => unknown, code: string, message: string, hint: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TriplineError);
    assert.deepEqual([e.code, e.message, e.hint], [code, message, hint]);
    return true;
  });
}

test('durations convert to milliseconds', () => {
  assert.deepEqual(
    ['250us', '5ms', '1.5s', '2m', '4h', '7d', '0s'].map(parseDuration),
    [0.25, 5, 1500, 120000, 14400000, 604800000, 0],
  );
  fails(
    () => parseDuration('5'),
    'RULE_ERR_UNIT',
    '"5" is not a duration',
    'write a number and a unit: 250us, 5ms, 1.5s, 2m, 4h, 7d',
  );
  fails(
    () => parseDuration('5 ms'),
    'RULE_ERR_UNIT',
    '"5 ms" is not a duration',
    'write a number and a unit: 250us, 5ms, 1.5s, 2m, 4h, 7d',
  );
});

test('the threshold unit follows the signal unit and the stat', () => {
  const s = (n: string) => signalSpec(n)!;
  assert.equal(thresholdUnit(s('syscall_latency_seconds'), 'p99'), 'duration');
  assert.equal(thresholdUnit(s('syscall_latency_seconds'), 'rate'), 'rate');
  assert.equal(thresholdUnit(s('syscall_latency_seconds'), 'count'), 'number');
  assert.equal(thresholdUnit(s('runq_delay_over_threshold'), 'rate'), 'rate');
  assert.equal(thresholdUnit(s('runq_delay_over_threshold'), 'increase'), 'number');
  assert.equal(thresholdUnit(s('cpu_throttled_seconds'), 'rate'), 'fraction');
  assert.equal(thresholdUnit(s('cpu_throttled_seconds'), 'increase'), 'duration');
  assert.equal(thresholdUnit(s('cpu_quota_cores'), 'last'), 'number');
  assert.equal(thresholdUnit(s('cpu_periods'), 'increase', true), 'percent');
});

test('thresholds convert to base units', () => {
  assert.equal(parseThreshold('10ms', 'duration', 'x'), 0.01);
  assert.equal(parseThreshold('250us', 'duration', 'x'), 0.00025);
  assert.equal(parseThreshold('1.5s', 'duration', 'x'), 1.5);
  assert.equal(parseThreshold('100/s', 'rate', 'x'), 100);
  assert.equal(parseThreshold('120/m', 'rate', 'x'), 2);
  assert.equal(parseThreshold('2%', 'percent', 'x'), 0.02);
  assert.equal(parseThreshold(0.5, 'fraction', 'x'), 0.5);
  assert.equal(parseThreshold('50%', 'fraction', 'x'), 0.5);
  assert.equal(parseThreshold(5, 'number', 'x'), 5);
});

test('a missing or wrong unit names the fix', () => {
  const q = 'syscall_latency_seconds p99';
  fails(
    () => parseThreshold(10, 'duration', q),
    'RULE_ERR_UNIT',
    `${q} is in seconds: threshold 10 has no unit`,
    'write 10ms (units: us, ms, s, m)',
  );
  fails(
    () => parseThreshold(0.01, 'duration', q),
    'RULE_ERR_UNIT',
    `${q} is in seconds: threshold 0.01 has no unit`,
    'write 10ms (units: us, ms, s, m)',
  );
  fails(
    () => parseThreshold('20%', 'duration', q),
    'RULE_ERR_UNIT',
    `${q} is in seconds: 20% is not a duration`,
    'write 20ms (units: us, ms, s, m)',
  );
  fails(
    () => parseThreshold('20', 'rate', 'tcp_retransmits rate'),
    'RULE_ERR_UNIT',
    'tcp_retransmits rate is per second: threshold 20 has no unit',
    'write 20/s (or 20/m per minute)',
  );
  fails(
    () => parseThreshold(0.2, 'percent', 'a / b'),
    'RULE_ERR_UNIT',
    'a / b is a ratio: threshold 0.2 has no unit',
    'write 20%',
  );
  fails(
    () => parseThreshold('3ms', 'number', 'tcp_retransmits increase'),
    'RULE_ERR_UNIT',
    'tcp_retransmits increase is a count: 3ms has a unit',
    'write 3 without a unit',
  );
  fails(
    () => parseThreshold('ten', 'number', 'x'),
    'RULE_ERR_UNIT',
    'threshold "ten" is not a number with a unit',
    'write 1 without a unit',
  );
  fails(
    () => parseThreshold('-5ms', 'duration', 'x'),
    'RULE_ERR_UNIT',
    'threshold "-5ms" is not a number with a unit',
    'write 1ms (units: us, ms, s, m)',
  );
});

test('signals are checked against the catalog, with the closest name', () => {
  assert.equal(checkSignal('tcp_retransmits').kind, 'counter');
  fails(
    () => checkSignal('tcp_retransmit'),
    'RULE_ERR_SIGNAL',
    'unknown signal "tcp_retransmit"',
    'did you mean "tcp_retransmits"?',
  );
  fails(
    () => checkSignal('read_latency'),
    'RULE_ERR_SIGNAL',
    'unknown signal "read_latency"',
    'signals are listed in docs/rules.md (src/signals.ts)',
  );
});

test('stats fit the signal kind', () => {
  const s = (n: string) => signalSpec(n)!;
  for (const stat of STATS_BY_KIND.histogram) checkStat(s('runq_delay_seconds'), stat);
  fails(
    () => checkStat(s('cpu_periods'), 'p99'),
    'RULE_ERR_SIGNAL',
    'stat p99 needs a histogram, but cpu_periods is a counter',
    'use one of: rate, increase',
  );
  fails(
    () => checkStat(s('cpu_periods'), 'mean'),
    'RULE_ERR_SIGNAL',
    'stat mean needs a histogram, but cpu_periods is a counter',
    'use one of: rate, increase',
  );
  fails(
    () => checkStat(s('cpu_quota_cores'), 'rate'),
    'RULE_ERR_SIGNAL',
    'stat rate needs a counter or a histogram, but cpu_quota_cores is a gauge',
    'use one of: last, max, min',
  );
  fails(
    () => checkStat(s('runq_delay_seconds'), 'last'),
    'RULE_ERR_SIGNAL',
    'stat last needs a gauge, but runq_delay_seconds is a histogram',
    'use one of: p50, p90, p95, p99, p999, mean, max, rate, increase, count',
  );
  // Every stat is usable on some kind.
  for (const stat of STATS)
    assert.ok(
      Object.values(STATS_BY_KIND).some((l) => l.includes(stat)),
      stat,
    );
});

test('quantities of any unit (for tests and bucket bounds)', () => {
  assert.deepEqual(['5ms', '20/s', '20%', '3', '1.5s'].map(parseQuantity), [0.005, 20, 0.2, 3, 1.5]);
  assert.equal(parseQuantity(7), 7);
  fails(() => parseQuantity('x'), 'RULE_ERR_UNIT', '"x" is not a number with a unit', 'write e.g. 5ms, 20/s, 20% or 3');
});

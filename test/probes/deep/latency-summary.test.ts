import { test } from 'node:test';
import assert from 'node:assert/strict';
import { latencySummary } from '../../../src/probes/deep/latency-summary.ts';
import { decodeHist, histBounds, HIST_SLOTS } from '../../../src/probes/decode/hist.ts';
import { Evaluator } from '../../../src/rules/evaluate/evaluate.ts';
import type { HistogramSample } from '../../../src/samples.ts';
import { cond, rule, ruleSet, tick } from '../../support/rule-fixtures.ts';

/** Kernel words of one log2 histogram of nanoseconds (slots, then the sum): a skewed latency mix. */
function kernelWords(): number[] {
  const words = new Array<number>(HIST_SLOTS + 1).fill(0);
  const slots: Record<number, number> = { 10: 400, 11: 300, 12: 150, 14: 80, 17: 50, 20: 17, 22: 3 };
  for (const [slot, n] of Object.entries(slots)) {
    words[Number(slot)] = n;
    words[HIST_SLOTS] += n * 2 ** (Number(slot) - 1); // the sum: lower bound of each slot, good enough here
  }
  return words;
}

test('the same histogram gives the same p50 and p99 through a rule and through a deep probe summary', () => {
  const h = decodeHist(kernelWords());
  const deep = latencySummary(h);

  // The rule path: the histogram as one tick of samples, a rule on its p99 that always holds.
  const sample: HistogramSample = {
    kind: 'histogram',
    signal: 'runq_delay_seconds',
    labels: { cgroup: '/a' },
    bounds: histBounds(1),
    deltas: h.counts,
    sumDelta: h.sum / 1e9,
    countDelta: deep.count,
  };
  const ev = new Evaluator(ruleSet([rule({ when: cond({ windowMs: 10_000, threshold: 0, thresholdText: '0' }) })]));
  const [inc] = ev.tick(tick(Date.parse('2026-12-01T00:00:00Z'), [sample]));
  assert.ok(inc, 'the rule fired');
  assert.equal(inc.value, deep.p99Seconds);
  assert.equal(inc.stats.p99, deep.p99Seconds);
  assert.equal(inc.stats.p50, deep.p50Seconds);
  // Interpolated inside the bucket, not its upper bound: rank 990 of 1000 is 10 of 17 into [2^19, 2^20) ns.
  assert.ok(Math.abs(deep.p99Seconds - (2 ** 19 + 2 ** 19 * (10 / 17)) / 1e9) < 1e-15, String(deep.p99Seconds));
  assert.equal(deep.count, 1000);
});

test('an empty histogram summarises as zeros (JSON has no NaN)', () => {
  const s = latencySummary(decodeHist(new Array<number>(HIST_SLOTS + 1).fill(0)));
  assert.deepEqual(s, { count: 0, seconds: 0, p50Seconds: 0, p99Seconds: 0 });
  const us = latencySummary({ counts: [0, 2, ...new Array<number>(HIST_SLOTS - 2).fill(0)], sum: 3 }, 1000);
  assert.equal(us.seconds, 3e-6, 'the sum is in the unit of the histogram');
  assert.ok(us.p99Seconds > 1e-6 && us.p99Seconds <= 2e-6);
});

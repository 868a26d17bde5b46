import { test } from 'node:test';
import assert from 'node:assert/strict';
import { histogramQuantile } from '../../../src/quantile.ts';
import { histogramMax, histogramMin, windowStat, increase, ratio } from '../../../src/rules/evaluate/stats.ts';
import { SeriesWindow } from '../../../src/rules/evaluate/window.ts';
import { BOUNDS, counter, gauge, hist } from '../../support/rule-fixtures.ts';

const close = (a: number, b: number, eps = 1e-12): void => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

test('histogram max and min are the bounds of the highest and lowest used bucket', () => {
  assert.equal(histogramMax(BOUNDS, [0, 3, 0, 0, 0]), 0.002);
  assert.equal(histogramMax(BOUNDS, [0, 3, 0, 0, 1]), 0.008);
  assert.equal(histogramMin(BOUNDS, [0, 3, 0, 0, 1]), 0.001);
  assert.equal(histogramMin(BOUNDS, [2, 3, 0, 0, 1]), 0);
});

function windowOf(samples: ReturnType<typeof counter>[], start = 1000): SeriesWindow {
  const w = new SeriesWindow(samples[0], 4);
  samples.forEach((s, i) => w.push(s, start + i * 1000, 1000, 60_000));
  return w;
}

test('histogram window: quantile and mean over the buckets summed within the window only', () => {
  const l = { cgroup: '/a' };
  // t=1s: 100 in bucket 0 (outside a 2 s window at t=3s); t=2s and t=3s: the fixture counts split in two.
  const w = windowOf([
    hist('runq_delay_seconds', l, [100, 0, 0, 0, 0]),
    hist('runq_delay_seconds', l, [5, 10, 15, 20, 0]),
    hist('runq_delay_seconds', l, [5, 10, 15, 20, 0]),
  ]);
  close(windowStat([w], 'p90', 3000, 2000), 0.007);
  close(windowStat([w], 'p50', 3000, 3000), histogramQuantile(0.5, BOUNDS, [110, 20, 30, 40, 0]));
  assert.equal(windowStat([w], 'count', 3000, 2000), 100);
  assert.equal(windowStat([w], 'rate', 3000, 2000), 50); // 100 observations over 2 s
  // mean from midpoints: (10*0.0005 + 20*0.0015 + 30*0.003 + 40*0.006) / 100
  close(windowStat([w], 'mean', 3000, 2000), (10 * 0.0005 + 20 * 0.0015 + 30 * 0.003 + 40 * 0.006) / 100);
  assert.equal(windowStat([w], 'max', 3000, 2000), 0.008);
  assert.ok(Number.isNaN(windowStat([w], 'p99', 10_000, 2000)), 'no sample inside the window');
});

test('histograms of one group are summed bucket by bucket', () => {
  const a = windowOf([hist('h', { c: 'a' }, [10, 20, 0, 0, 0])]);
  const b = windowOf([hist('h', { c: 'b' }, [0, 0, 30, 40, 0])]);
  close(windowStat([a, b], 'p90', 1000, 1000), 0.007);
});

test('counter window: increase, rate over the time covered, per-tick max/min/last, ratio', () => {
  const l = { cgroup: '/a' };
  const w = windowOf([5, 10, 20, 30, 40].map((d) => counter('cpu_throttled_periods', l, d)));
  // ring of 4 grows while the oldest sample is inside the 60 s keep: all five stay.
  assert.equal(w.n, 5);
  assert.equal(windowStat([w], 'increase', 5000, 3000), 90);
  assert.equal(windowStat([w], 'rate', 5000, 3000), 30);
  assert.equal(windowStat([w], 'rate', 5000, 60_000), 105 / 5); // warm-up: only 5 s covered
  assert.equal(windowStat([w], 'max', 5000, 3000), 40);
  assert.equal(windowStat([w], 'min', 5000, 3000), 20);
  assert.equal(windowStat([w], 'last', 5000, 3000), 40);
  const den = windowOf([100, 100, 100, 100, 100].map((d) => counter('cpu_periods', l, d)));
  close(ratio([w], [den], 5000, 2000), 70 / 200);
  assert.ok(Number.isNaN(ratio([w], [], 5000, 2000)), 'no denominator: no ratio');
  assert.equal(increase([w, den], 5000, 1000), 140);
});

test('gauge window: mean, max, min, last, count; groups sum last and mean', () => {
  const w = windowOf([1, 4, 2, 8].map((v) => gauge('cpu_quota_cores', { c: 'a' }, v)));
  const v = windowOf(
    [0.5].map((x) => gauge('cpu_quota_cores', { c: 'b' }, x)),
    4000,
  );
  assert.equal(windowStat([w], 'mean', 4000, 3000), (4 + 2 + 8) / 3);
  assert.equal(windowStat([w], 'max', 4000, 3000), 8);
  assert.equal(windowStat([w], 'min', 4000, 3000), 2);
  assert.equal(windowStat([w], 'count', 4000, 3000), 3);
  assert.equal(windowStat([w, v], 'last', 4000, 3000), 8.5);
  assert.ok(Number.isNaN(windowStat([w], 'p99', 4000, 3000)), 'quantile of a gauge is undefined');
});

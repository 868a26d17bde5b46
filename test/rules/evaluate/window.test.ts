import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeriesWindow, WindowStore } from '../../../src/rules/evaluate/window.ts';
import { seriesKey } from '../../../src/samples.ts';
import { windowStat } from '../../../src/rules/evaluate/stats.ts';
import { counter, hist, tick } from '../../support/rule-fixtures.ts';

test('a ring keeps only what the longest window needs and stays exact after wrapping', () => {
  const s = counter('c', { a: '1' }, 1);
  const w = new SeriesWindow(s, 5);
  for (let i = 1; i <= 100; i++) w.push(counter('c', { a: '1' }, i), i * 1000, 1000, 5000);
  assert.equal(w.capacity, 5, 'no growth: the oldest sample is outside the 5 s keep');
  assert.equal(w.n, 5);
  assert.equal(w.atOf(0), 96_000);
  assert.equal(w.firstIn(100_000, 3000), 2);
  assert.equal(w.total - w.before(2), 98 + 99 + 100);
  assert.equal(w.deltaOf(4), 100);
});

test('a ring grows when ticks come faster than planned, up to what the keep needs', () => {
  const w = new SeriesWindow(counter('c', {}, 1), 3);
  for (let i = 1; i <= 20; i++) w.push(counter('c', {}, 1), i * 100, 100, 1000); // 10 samples per second in a 1 s keep
  assert.ok(w.capacity >= 10 && w.capacity <= 24, `capacity ${w.capacity}`);
  assert.equal(w.total - w.before(w.firstIn(2000, 1000)), 10);
});

test('a histogram with a new bucket layout restarts its window', () => {
  const w = new SeriesWindow(hist('h', {}, [1, 0, 0, 0, 0]), 4);
  w.push(hist('h', {}, [1, 0, 0, 0, 0]), 1000, 1000, 10_000);
  w.push(hist('h', {}, [0, 2, 0], [0.001, 0.002, Infinity]), 2000, 1000, 10_000);
  assert.equal(w.n, 1);
  assert.deepEqual(w.bounds, [0.001, 0.002, Infinity]);
  assert.equal(w.total, 2);
});

test('the store indexes series by signal, versions the series set, forgets stale series', () => {
  const st = new WindowStore(
    new Map([
      ['x', 10_000],
      ['y', 10_000],
    ]),
  );
  const a = { cgroup: '/a' },
    b = { cgroup: '/b' };
  st.ingest(tick(1000, [counter('x', a, 1), counter('y', a, 1)]));
  const v1 = st.version('x');
  st.ingest(tick(2000, [counter('x', a, 1), counter('y', a, 1)]));
  assert.equal(st.version('x'), v1, 'same series: same version');
  st.ingest(tick(3000, [counter('x', a, 1), counter('x', b, 1), counter('y', a, 1)]));
  assert.notEqual(st.version('x'), v1);
  assert.equal(st.series('x').length, 2);
  assert.equal(st.size, 3);
  // x{/a} and y{/a} go on; x{/b} stops: gone once older than the window (+ one interval).
  for (let t = 4000; t <= 30_000; t += 1000) st.ingest(tick(t, [counter('x', a, 1), counter('y', a, 1)]));
  assert.equal(st.series('x').length, 1);
  assert.equal(st.get(seriesKey('x', a)), st.series('x')[0]);
});

test('only signals some rule reads are kept; a reload that drops a signal drops its series', () => {
  const st = new WindowStore(new Map([['x', 5000]]));
  st.ingest(tick(1000, [counter('x', { a: '1' }, 1), counter('unread', { a: '1' }, 1)]));
  assert.equal(st.size, 1);
  assert.equal(st.series('unread').length, 0);
  const v = st.version('x');
  st.setWindows(new Map([['unread', 5000]]));
  assert.equal(st.size, 0);
  assert.notEqual(st.version('x'), v);
  st.ingest(tick(2000, [counter('x', { a: '1' }, 1), counter('unread', { a: '1' }, 1)]));
  assert.deepEqual([st.series('x').length, st.series('unread').length], [0, 1]);
  assert.equal(st.series('unread')[0].capacity, 7, '5 s of 1 s ticks plus slack');
});

test('histograms over long windows are strided: bounded rows, exact sums, window start resolved to the stride', () => {
  const st = new WindowStore(new Map([['h', 3_600_000]]));
  const l = { syscall: 'read' };
  for (let t = 1; t <= 4000; t++)
    st.ingest(tick(t * 1000, [hist('h', l, t <= 3000 ? [1, 0, 0, 0, 0] : [0, 0, 0, 1, 0])]));
  const [w] = st.series('h');
  assert.equal(w.stride, 10, '3600 one-second ticks in 360 rows');
  assert.ok(w.capacity <= 362 + 2, `capacity ${w.capacity}`);
  // Rows start at ticks 1, 11, 21, ...: the last hour (400 s, 4000 s] starts at the row of tick 401.
  const j = w.firstIn(4_000_000, 3_600_000);
  assert.equal(w.atOf(j), 401_000);
  assert.equal(w.total - w.before(j), 3600, 'observations of ticks 401..4000, exactly');
  // p50 over the hour: 2600 fast (bucket 0) and 1000 slow (4..8ms) observations: rank 1800 in bucket 0.
  assert.ok(Math.abs(windowStat([w], 'p50', 4_000_000, 3_600_000) - 0.001 * (1800 / 2600)) < 1e-12);
  // A window that starts inside a row starts at the next row: (405 s, 4000 s] reads from tick 411.
  assert.equal(windowStat([w], 'count', 4_000_000, 3_595_000), 3590);
  // The last 100 s (3900, 4000]: rows at 3901 .. 3991 hold ticks 3901..4000, all slow.
  assert.equal(windowStat([w], 'count', 4_000_000, 100_000), 100);
  assert.ok(Math.abs(windowStat([w], 'p50', 4_000_000, 100_000) - 0.006) < 1e-12);
  assert.equal(windowStat([w], 'rate', 4_000_000, 100_000), 1);
});

test('firstIn agrees with a linear scan on jittery and irregular ticks (seeded)', () => {
  let x = 42;
  const rnd = (): number => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x / 0x7fffffff;
  };
  for (const stride of [1, 3]) {
    const w = new SeriesWindow(hist('h', {}, [1, 0, 0, 0, 0]), 8, stride);
    let t = 0;
    for (let i = 0; i < 500; i++) {
      const iv = rnd() < 0.1 ? 5000 * rnd() : 1000 + 200 * (rnd() - 0.5); // mostly ~1 s, sometimes a gap or a burst
      t += Math.max(1, Math.round(iv));
      w.push(hist('h', {}, [1, 0, 0, 0, 0]), t, Math.round(iv), 30_000);
      for (const win of [1000, 2500, 10_000, 30_000]) {
        const now = t + Math.round(rnd() * 1500);
        let expect = 0;
        while (expect < w.n && w.atOf(expect) <= now - win) expect++;
        assert.equal(w.firstIn(now, win), expect, `stride ${stride} tick ${i} window ${win}`);
      }
    }
  }
});

/**
 * Turns the input series of a RuleTest into sampler ticks, as the real sampler would publish them:
 * counters are written cumulative and become deltas (a decrease is a reset: the new value is the
 * delta); histograms are written as cumulative counts per upper bound (like `le` buckets) and become
 * per-bucket deltas; gauges are taken as they are. A `_` point publishes no sample for that series.
 */
import type { HistogramSample, Labels, Sample, Tick } from '../../samples.ts';
import type { RuleTestSpec } from '../parse/schema.ts';
import { signalSpec } from '../../signals.ts';
import { parseSeries } from './series-notation.ts';
import { parseBucketBound } from './compile-test.ts';
import { TriplineError } from '../../errors.ts';

type Input = RuleTestSpec['input'][number];

/** Per-point samples of one input (index = point), `undefined` where it publishes nothing. */
function samplesOf(inp: Input): (Sample | undefined)[] {
  const spec = signalSpec(inp.signal);
  if (!spec)
    throw new TriplineError('RULE_ERR_TEST', `unknown signal ${inp.signal}`, {
      hint: 'run tripline check on the test file',
    });
  const labels: Labels = Object.freeze({ ...inp.labels });
  if (spec.kind === 'histogram') return histogramSamples(inp, labels);
  const values = parseSeries(inp.values ?? '');
  if (spec.kind === 'gauge')
    return values.map((v) => (v === null ? undefined : { kind: 'gauge', signal: inp.signal, labels, value: v }));
  let prev: number | undefined;
  return values.map((v) => {
    if (v === null) return undefined;
    const first = prev === undefined;
    const delta = first ? 0 : v >= prev! ? v - prev! : v;
    prev = v;
    // The first point is the baseline: the sampler has nothing to subtract yet, so it publishes nothing.
    return first ? undefined : { kind: 'counter', signal: inp.signal, labels, delta, total: v };
  });
}

function histogramSamples(inp: Input, labels: Labels): (Sample | undefined)[] {
  const cols = Object.entries(inp.buckets ?? {})
    .map(([k, text]) => ({ bound: parseBucketBound(k), values: parseSeries(text) }))
    .sort((a, b) => a.bound - b.bound);
  if (cols.length === 0 || cols[cols.length - 1].bound !== Infinity)
    throw new TriplineError('RULE_ERR_TEST', `histogram input ${inp.signal} needs a '+Inf' bucket`, {
      hint: "add '+Inf': <series>",
    });
  const bounds = Object.freeze(cols.map((c) => c.bound));
  const n = Math.max(...cols.map((c) => c.values.length));
  const last: (number | undefined)[] = cols.map(() => undefined);
  const out: (Sample | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    const now = cols.map((c) => c.values[i] ?? null);
    if (now.some((v) => v === null)) {
      out.push(undefined);
      continue;
    }
    const first = last[0] === undefined;
    // Time deltas of each cumulative bound (a decrease is a reset), then bound-to-bucket differences.
    const byBound = now.map((v, b) => (first ? 0 : v! >= last[b]! ? v! - last[b]! : v!));
    now.forEach((v, b) => {
      last[b] = v!;
    });
    if (first) {
      out.push(undefined);
      continue;
    }
    const deltas = byBound.map((d, b) => Math.max(0, d - (b === 0 ? 0 : byBound[b - 1])));
    let sum = 0,
      count = 0;
    deltas.forEach((d, b) => {
      const lo = b === 0 ? 0 : bounds[b - 1];
      const mid = bounds[b] === Infinity ? lo : (lo + bounds[b]) / 2; // the kernel keeps no sum either
      sum += d * mid;
      count += d;
    });
    const s: HistogramSample = {
      kind: 'histogram',
      signal: inp.signal,
      labels,
      bounds,
      deltas,
      sumDelta: sum,
      countDelta: count,
    };
    out.push(s);
  }
  return out;
}

/** Ticks at `startMs + i·intervalMs` for i in 0..points-1 (at least `minTicks`), samples of every input. */
export function buildTicks(spec: RuleTestSpec, intervalMs: number, startMs: number, minTicks = 0): Tick[] {
  const per = spec.input.map(samplesOf);
  const n = Math.max(minTicks, ...per.map((p) => p.length));
  const ticks: Tick[] = [];
  for (let i = 0; i < n; i++) {
    const samples: Sample[] = [];
    for (const p of per) {
      const s = p[i];
      if (s) samples.push(s);
    }
    ticks.push({ at: startMs + i * intervalMs, intervalMs, samples });
  }
  return ticks;
}

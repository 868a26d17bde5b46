/**
 * Histogram folding for /metrics: kernel log2 histograms have 32 slots; Prometheus gets at most 16 buckets per series.
 * Export bounds are a subset of the kernel's bounds inside a per-signal range, so merged buckets are exact
 * (no value crosses an exported `le`). Pure.
 */
import { allSignals } from '../signals.ts';

/** Most buckets exported per histogram series, +Inf included. */
export const MAX_EXPORT_BUCKETS = 16;

/** Range (seconds) worth resolving per histogram signal (each family's spec sets it); bounds outside fold into the neighbours. */
export const SIGNAL_RANGES: Readonly<Record<string, readonly [number, number]>> = Object.freeze(
  Object.fromEntries(allSignals().flatMap((s) => (s.range ? [[s.name, s.range]] : []))),
);

const EPS = 1e-12;

/** Export bounds (last is Infinity) for a histogram with kernel bounds `input`, at most `max` buckets. */
export function exportBounds(
  input: readonly number[],
  range: readonly [number, number] | undefined,
  max = MAX_EXPORT_BUCKETS,
): number[] {
  const finite = input.filter((b) => Number.isFinite(b));
  let cands = range ? finite.filter((b) => b >= range[0] * (1 - EPS) && b <= range[1] * (1 + EPS)) : finite;
  if (cands.length === 0) cands = finite;
  // Thin from the top so the range's upper end stays a bound: every stride-th bound down from the last.
  const stride = Math.ceil(cands.length / (max - 1));
  const picked: number[] = [];
  for (let i = cands.length - 1; i >= 0; i -= stride) picked.unshift(cands[i]);
  picked.push(Infinity);
  return picked;
}

/** For each input bucket, the index of the export bucket it goes into (the first export bound ≥ its bound). */
export function foldMap(input: readonly number[], exported: readonly number[]): Int32Array {
  const map = new Int32Array(input.length);
  let j = 0;
  for (let i = 0; i < input.length; i++) {
    while (j < exported.length - 1 && exported[j] < input[i] * (1 - EPS)) j++;
    map[i] = j;
  }
  return map;
}

/** Per-bucket counts folded with a map from `foldMap` (not cumulative). */
export function foldCounts(counts: readonly number[], map: Int32Array, buckets: number): number[] {
  const out = new Array<number>(buckets).fill(0);
  for (let i = 0; i < counts.length; i++) out[map[i]] += counts[i];
  return out;
}

/** Folding plans cached per input bounds (the same array is reused by a family, so identity usually hits). */
export class FoldPlans {
  private byRef = new WeakMap<readonly number[], { bounds: number[]; map: Int32Array }>();
  private byText = new Map<string, { bounds: number[]; map: Int32Array }>();
  private readonly range: readonly [number, number] | undefined;

  constructor(signal: string) {
    this.range = SIGNAL_RANGES[signal];
  }

  /** The export bounds and fold map for these input bounds. */
  plan(input: readonly number[]): { bounds: number[]; map: Int32Array } {
    let p = this.byRef.get(input);
    if (p) return p;
    const text = input.join(',');
    p = this.byText.get(text);
    if (!p) {
      const bounds = exportBounds(input, this.range);
      p = { bounds, map: foldMap(input, bounds) };
      this.byText.set(text, p);
    }
    this.byRef.set(input, p);
    return p;
  }
}

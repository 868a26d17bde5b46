/**
 * Log2 histograms as the kernel keeps them (bpf/hist.h): HIST_SLOTS counters then the sum, all __u64.
 * Slot i holds values in [2^(i-1), 2^i) of the family's unit, slot 0 holds 0, the last slot is open-ended.
 */
import { log2Bounds } from '../../samples.ts';
import { TriplineError } from '../../errors.ts';

/** Mirrors HIST_SLOTS in bpf/hist.h. */
export const HIST_SLOTS = 32;
/** Mirrors HIST_SIZE in bpf/hist.h: slots plus the sum, bytes. */
export const HIST_SIZE = (HIST_SLOTS + 1) * 8;
/** Expected BTF layout of `struct hist` (checked at load). */
export const HIST_LAYOUT = { size: HIST_SIZE, fields: { slots: 0, sum: HIST_SLOTS * 8 } } as const;

/** A decoded histogram: per-slot counts and the sum, in the kernel's unit. */
export interface RawHist {
  readonly counts: number[];
  readonly sum: number;
}

/** Reads a histogram from summed per-CPU words starting at word `at`. */
export function decodeHist(words: ArrayLike<number>, at = 0): RawHist {
  if (words.length < at + HIST_SLOTS + 1) {
    throw new TriplineError(
      'PROBE_ERR_LAYOUT',
      `histogram needs ${HIST_SLOTS + 1} words from ${at}, got ${words.length - at}`,
      { hint: 'HIST_SLOTS in bpf/hist.h and src/probes/decode/hist.ts must agree' },
    );
  }
  const counts = new Array<number>(HIST_SLOTS);
  for (let i = 0; i < HIST_SLOTS; i++) counts[i] = words[at + i];
  return { counts, sum: words[at + HIST_SLOTS] };
}

/** True when no observation was recorded (such entries are not reported). */
export function histEmpty(h: RawHist): boolean {
  for (let i = 0; i < h.counts.length; i++) if (h.counts[i] !== 0) return false;
  return true;
}

const boundsCache = new Map<number, readonly number[]>();
/** Bucket upper bounds in seconds for a histogram whose unit is `unitNs` nanoseconds (last = Infinity). */
export function histBounds(unitNs: number): readonly number[] {
  let b = boundsCache.get(unitNs);
  if (!b) {
    b = Object.freeze(log2Bounds(HIST_SLOTS, unitNs / 1e9));
    boundsCache.set(unitNs, b);
  }
  return b;
}

/** Slot a value (in the histogram's unit) falls in, as the kernel computes it (for tests and tools). */
export function histSlot(v: number): number {
  if (v <= 0) return 0;
  return Math.min(Math.floor(Math.log2(v)) + 1, HIST_SLOTS - 1);
}

/**
 * Per-CPU map values: the kernel hands back one copy of the value per possible CPU, each padded to 8 bytes.
 * Summing them here is what lets the BPF side count with plain adds instead of atomics.
 */
import { TriplineError } from '../../errors.ts';

/** Reads a little-endian u64 as a Number (exact below 2^53, which counters and nanosecond sums stay under). */
export function u64(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset) + buf.readUInt32LE(offset + 4) * 0x1_0000_0000;
}

/** Checks that `buf` is exactly `size` bytes; `what` names the map and part in the error. */
export function expectLength(buf: Buffer, size: number, what: string): void {
  if (buf.length !== size) {
    throw new TriplineError('PROBE_ERR_LAYOUT', `${what}: ${buf.length} bytes, expected ${size}`, {
      hint: 'the BPF header and its TypeScript decoder disagree: update both together and rebuild (scripts/build-bpf)',
    });
  }
}

const scratch = new Map<number, Float64Array>();

/**
 * Sums the u64 words of a per-CPU value across CPUs. `valueSize` is the map's value size (a multiple of 8),
 * `cpus` the number of possible CPUs; the buffer must be `cpus * valueSize` bytes. The result is a scratch array
 * reused by the next call for the same size (a map read sums thousands of entries): read it before the next call.
 */
export function sumPerCpu(value: Buffer, valueSize: number, cpus: number, what: string): Float64Array {
  if (valueSize % 8 !== 0)
    throw new TriplineError('PROBE_ERR_LAYOUT', `${what}: value size ${valueSize} is not a multiple of 8`, {
      hint: 'per-CPU values here are arrays of __u64',
    });
  expectLength(value, valueSize * cpus, what);
  const words = valueSize / 8;
  let out = scratch.get(words);
  if (!out) scratch.set(words, (out = new Float64Array(words)));
  out.fill(0);
  for (let c = 0; c < cpus; c++) {
    const base = c * valueSize;
    for (let w = 0; w < words; w++) out[w] += u64(value, base + w * 8);
  }
  return out;
}

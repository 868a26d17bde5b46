/** Decoder of the blockio family's maps (contract: bpf/counters/blockio.h). Pure: bytes in, readings out. */
import type { Reading } from '../counters/types.ts';
import { HIST_SIZE, decodeHist, histBounds, histEmpty } from './hist.ts';
import { expectLength, sumPerCpu } from './percpu.ts';

/** Mirrors bpf/counters/blockio.h. */
export const BLOCKIO = {
  unitNs: 1000,
  keySize: 8,
  valueSize: HIST_SIZE,
  layouts: {
    blockio_key: { size: 8, fields: { dev: 0, op: 4 } },
  },
} as const;

/** BLOCKIO_OP_* of bpf/counters/blockio.h, by value. */
export const BLOCKIO_OPS = ['read', 'write', 'flush', 'discard', 'other'] as const;

/** Kernel dev_t (major << 20 | minor) → "major:minor". */
export function devName(dev: number): string {
  return `${dev >>> 20}:${dev & 0xfffff}`;
}

/** One blockio_latency entry → histogram labelled with device (via `device`, given "major:minor") and op. */
export function decodeBlockioEntry(
  key: Buffer,
  value: Buffer,
  cpus: number,
  device: (majorMinor: string) => string,
): Reading[] {
  expectLength(key, BLOCKIO.keySize, 'blockio_latency key');
  const h = decodeHist(sumPerCpu(value, BLOCKIO.valueSize, cpus, 'blockio_latency value'));
  if (histEmpty(h)) return [];
  const op = BLOCKIO_OPS[key.readUInt32LE(4)] ?? 'other';
  return [
    {
      kind: 'histogram',
      signal: 'blockio_latency_seconds',
      labels: { device: device(devName(key.readUInt32LE(0))), op },
      bounds: histBounds(BLOCKIO.unitNs),
      counts: h.counts,
      sum: (h.sum * BLOCKIO.unitNs) / 1e9,
    },
  ];
}

/** DEVNAME from the text of /sys/dev/block/M:m/uevent, or undefined. */
export function parseUeventDevname(text: string): string | undefined {
  const m = /^DEVNAME=(.+)$/m.exec(text);
  return m ? m[1].trim() : undefined;
}

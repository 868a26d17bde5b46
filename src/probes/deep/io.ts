/**
 * io: block I/O latency of the requests the target issues, and the slowest requests (bpf/deep/io.bpf.c,
 * block_rq_issue/block_rq_complete).
 * Result: `records` — one per request over the threshold: { dev ("major:minor"), disk (name from /sys/dev/block),
 * sector, bytes, op, seconds, error, pid, comm }. `summary` — { requests, seconds, p50Seconds, p99Seconds
 * (interpolated in the log2 buckets as the rules do: latency-summary.ts), histogram: {leSeconds, count}[]
 * (non-empty buckets), thresholdMs, slowest: (record)[] (longest first) }.
 * Options: threshold_ms (default 1), slowest (default 20).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { possibleCpus } from '../libbpf.ts';
import { decodeHist, HIST_LAYOUT, HIST_SIZE, histBounds } from '../decode/hist.ts';
import { sumPerCpu } from '../decode/percpu.ts';
import { openProbeObject } from './open-probe.ts';
import { parseOptions } from './options.ts';
import { RecordBuffer } from './record-buffer.ts';
import { ringEvents } from './ring-events.ts';
import { startSession } from './session.ts';
import { latencySummary } from './latency-summary.ts';
import type { CatalogProbe } from './types.ts';
import { num, count } from './summary.ts';

/** sizeof(struct iod_event) in bpf/deep/io.h. */
export const IOD_EVENT_SIZE = 56;
/** Struct layouts of bpf/deep/io.h, checked against the object's BTF at load and by test/bpf/spec.test.ts. */
export const IO_LAYOUTS = {
  iod_event: { size: IOD_EVENT_SIZE, fields: { dev: 16, op: 24, comm: 40 } },
  hist: HIST_LAYOUT,
} as const;
const OPS: Record<number, string> = {
  0: 'read',
  1: 'write',
  2: 'flush',
  3: 'discard',
  5: 'secure-erase',
  9: 'write-zeroes',
};

/** Options of `capture.options.io`. */
export const ioOptions = z
  .object({
    /** Requests at least this slow (ms) are recorded one by one. @defaultValue 1 */
    threshold_ms: z.number().min(0).max(600_000).default(1),
    /** How many of the slowest requests the summary keeps. @defaultValue 20 */
    slowest: z.number().int().min(1).max(1000).default(20),
  })
  .strict();

/** One decoded request. */
export interface BlockRequest {
  readonly latencyNs: bigint;
  readonly sector: bigint;
  readonly major: number;
  readonly minor: number;
  readonly bytes: number;
  readonly op: string;
  readonly tgid: number;
  readonly error: number;
  readonly comm: string;
}

/** Decodes struct iod_event; rejects buffers of other sizes. */
export function decodeBlockRequest(b: Buffer): BlockRequest {
  if (b.length !== IOD_EVENT_SIZE) throw new RangeError(`iod_event: ${b.length} bytes, expected ${IOD_EVENT_SIZE}`);
  const dev = b.readUInt32LE(16);
  const opNr = b.readUInt32LE(24);
  const nul = b.indexOf(0, 40);
  return {
    latencyNs: b.readBigUInt64LE(0),
    sector: b.readBigUInt64LE(8),
    major: dev >>> 20,
    minor: dev & 0xfffff,
    bytes: b.readUInt32LE(20),
    op: OPS[opNr] ?? `op-${opNr}`,
    tgid: b.readUInt32LE(28),
    error: b.readInt32LE(32),
    comm: b.toString('utf8', 40, nul < 0 || nul > 56 ? 56 : nul),
  };
}

const diskNames = new Map<string, string>();
function diskName(dev: string): string {
  let n = diskNames.get(dev);
  if (n === undefined) {
    try {
      n = /DEVNAME=(\S+)/.exec(readFileSync(`/sys/dev/block/${dev}/uevent`, 'utf8'))?.[1] ?? '';
    } catch {
      n = '';
    }
    diskNames.set(dev, n);
  }
  return n;
}

/** Shape of `ProbeResult.summary` (see the module comment). */
export const ioSummary = z.object({
  requests: count,
  seconds: num,
  p50Seconds: num,
  p99Seconds: num,
  histogram: z.array(z.object({ leSeconds: num, count })),
  thresholdMs: num,
  slowest: z.array(
    z.object({
      dev: z.string(),
      disk: z.string(),
      sector: z.number(),
      bytes: count,
      op: z.string(),
      seconds: num,
      error: z.number().int(),
      pid: count,
      comm: z.string(),
    }),
  ),
});

/** The io deep probe. */
export const io = {
  name: 'io',
  description: 'Block I/O latency of the requests the target issues, and the slowest requests',
  options: ioOptions,
  summary: ioSummary,
  budget: { maxEvents: 20_000, maxBytes: 4 << 20 },
  doc: {
    what: 'block I/O latency and slowest requests',
    hooks: '`tp_btf/block_rq_issue`, `block_rq_complete` (raw_tp twins)',
    cost: 'per-event',
  },
  prepare(ctx) {
    const opts = parseOptions('io', ioOptions, ctx.options);
    const obj = openProbeObject(ctx, 'io', {
      twins: { tpBtf: ['tld_io_issue', 'tld_io_done'] },
      rodata: { threshold_ns: BigInt(Math.round(opts.threshold_ms * 1e6)) },
      layouts: IO_LAYOUTS,
    });
    const ring = ringEvents(obj, 'io_events', decodeBlockRequest);
    const reqs: BlockRequest[] = ring.items;
    const view = (r: BlockRequest) => {
      const dev = `${r.major}:${r.minor}`;
      return {
        dev,
        disk: diskName(dev),
        sector: Number(r.sector),
        bytes: r.bytes,
        op: r.op,
        seconds: Number(r.latencyNs) / 1e9,
        error: r.error,
        pid: r.tgid,
        comm: r.comm,
      };
    };
    return {
      close: () => obj.close(),
      start(target, budget) {
        const out = new RecordBuffer(budget.maxBytes);
        return startSession({
          probe: 'io',
          obj,
          target,
          budget,
          ring,
          read: () => {
            const value = obj.map('io_lat').lookup(Buffer.alloc(4))!;
            const h = decodeHist(sumPerCpu(value, HIST_SIZE, possibleCpus(), 'io_lat'));
            const bounds = histBounds(1);
            const lat = latencySummary(h);
            const histogram = h.counts.map((count, i) => ({ leSeconds: bounds[i], count })).filter((b) => b.count > 0);
            const views = reqs.map(view);
            for (const v of views) out.push(v);
            return {
              records: out.records,
              userDropped: out.dropped,
              summary: {
                requests: lat.count,
                seconds: lat.seconds,
                p50Seconds: lat.p50Seconds,
                p99Seconds: lat.p99Seconds,
                histogram,
                thresholdMs: opts.threshold_ms,
                slowest: [...views].sort((a, b) => b.seconds - a.seconds).slice(0, opts.slowest),
              },
            };
          },
        });
      },
    };
  },
} satisfies CatalogProbe & { options: typeof ioOptions };

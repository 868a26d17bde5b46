/**
 * runqslower: each scheduling delay of the target above a threshold, with the tasks that held that CPU while it
 * waited (bpf/deep/runqslower.bpf.c; sched_wakeup/sched_wakeup_new/sched_switch).
 * Result: `records` — one per delay: { pid, comm, cpu, delayMs, neighbours: [{pid, comm, cgroupId, cgroupPath, ranMs}] }.
 * `summary` — { delays, totalDelaySeconds, maxDelaySeconds, thresholdMs, neighbours: Neighbour[] } where each
 * neighbour (per pid + comm + cgroup) has `count` = delays during which it held the CPU and `delaySeconds` = the
 * time it held the CPU within those delays; sorted by delaySeconds, largest first (at most 20).
 * Options: threshold_ms (default 1: longer than a few scheduler slices on an idle system, well under a CFS period).
 */
import { z } from 'zod';
import type { Neighbour } from './evidence.ts';
import { CgroupResolver } from '../cgroups.ts';
import { openProbeObject } from './open-probe.ts';
import { parseOptions } from './options.ts';
import { RecordBuffer } from './record-buffer.ts';
import { ringEvents } from './ring-events.ts';
import { startSession } from './session.ts';
import type { CatalogProbe } from './types.ts';
import { num, count, neighbourSchema } from './summary.ts';

/** Sizes from bpf/deep/runqslower.h. */
export const RUNQSLOWER_EVENT_SIZE = 200;
export const RUNQSLOWER_NB_SIZE = 40;
/** Struct layouts of bpf/deep/runqslower.h, checked against the object's BTF at load and by test/bpf/spec.test.ts. */
export const RUNQSLOWER_LAYOUTS = {
  runqslower_event: { size: RUNQSLOWER_EVENT_SIZE, fields: { nb_count: 20, comm: 24, nb: 40 } },
} as const;
const MAX_NB = 4;

/** Options of `capture.options.runqslower`. */
export const runqslowerOptions = z
  .object({
    /** Report delays at least this long (ms). @defaultValue 1 */
    threshold_ms: z.number().min(0).max(10_000).default(1),
  })
  .strict();

/** One decoded event. */
export interface RunqDelay {
  readonly delayNs: bigint;
  readonly pid: number;
  readonly tgid: number;
  readonly cpu: number;
  readonly comm: string;
  readonly neighbours: readonly { pid: number; tgid: number; cgroupId: string; ranNs: bigint; comm: string }[];
}

const cstr = (b: Buffer, from: number, len: number): string => {
  const nul = b.indexOf(0, from);
  return b.toString('utf8', from, nul < 0 || nul > from + len ? from + len : nul);
};

/** Decodes struct runqslower_event; rejects buffers of other sizes. */
export function decodeRunqDelay(b: Buffer): RunqDelay {
  if (b.length !== RUNQSLOWER_EVENT_SIZE)
    throw new RangeError(`runqslower_event: ${b.length} bytes, expected ${RUNQSLOWER_EVENT_SIZE}`);
  const n = Math.min(b.readUInt32LE(20), MAX_NB);
  const neighbours = [];
  for (let i = 0; i < n; i++) {
    const o = 40 + i * RUNQSLOWER_NB_SIZE;
    neighbours.push({
      pid: b.readUInt32LE(o),
      tgid: b.readUInt32LE(o + 4),
      cgroupId: b.readBigUInt64LE(o + 8).toString(),
      ranNs: b.readBigUInt64LE(o + 16),
      comm: cstr(b, o + 24, 16),
    });
  }
  return {
    delayNs: b.readBigUInt64LE(0),
    pid: b.readUInt32LE(8),
    tgid: b.readUInt32LE(12),
    cpu: b.readUInt32LE(16),
    comm: cstr(b, 24, 16),
    neighbours,
  };
}

/** Aggregates delays into neighbours, largest share of the target's waiting first. */
export function aggregateNeighbours(
  delays: readonly RunqDelay[],
  pathOf: (cgroupId: string) => string,
  limit = 20,
): Neighbour[] {
  const by = new Map<string, { pid: number; comm: string; cgroupId: string; count: number; ns: bigint }>();
  for (const d of delays) {
    for (const nb of d.neighbours) {
      const k = `${nb.pid}\0${nb.comm}\0${nb.cgroupId}`;
      const a = by.get(k) ?? { pid: nb.pid, comm: nb.comm, cgroupId: nb.cgroupId, count: 0, ns: 0n };
      a.count++;
      a.ns += nb.ranNs;
      by.set(k, a);
    }
  }
  return [...by.values()]
    .sort((a, b) => (b.ns > a.ns ? 1 : b.ns < a.ns ? -1 : 0))
    .slice(0, limit)
    .map((a) => ({
      pid: a.pid,
      comm: a.comm,
      cgroupId: a.cgroupId,
      cgroupPath: pathOf(a.cgroupId),
      count: a.count,
      delaySeconds: Number(a.ns) / 1e9,
    }));
}

/** Shape of `ProbeResult.summary` (see the module comment). */
export const runqslowerSummary = z.object({
  delays: count,
  totalDelaySeconds: num,
  maxDelaySeconds: num,
  thresholdMs: num,
  neighbours: z.array(neighbourSchema),
});

/** The runqslower deep probe. */
export const runqslower = {
  name: 'runqslower',
  description: 'Scheduling delays of the target over a threshold, with the neighbours that held the CPU',
  options: runqslowerOptions,
  summary: runqslowerSummary,
  budget: { maxEvents: 20_000, maxBytes: 8 << 20 },
  doc: {
    what: 'scheduling delays over a threshold and the neighbours that ran instead',
    hooks: '`tp_btf/sched_wakeup`, `sched_wakeup_new`, `sched_switch` (raw_tp twins)',
    cost: 'per-switch',
  },
  prepare(ctx) {
    const opts = parseOptions('runqslower', runqslowerOptions, ctx.options);
    const obj = openProbeObject(ctx, 'runqslower', {
      // The tp_btf programs keep enqueue times in task storage (runq_enqueued); the raw_tp twins in a pid hash.
      twins: { tpBtf: ['tld_rqs_wake', 'tld_rqs_new', 'tld_rqs_switch'], tpBtfNeeds: ['taskStorage'] },
      rodata: { threshold_ns: BigInt(Math.round(opts.threshold_ms * 1e6)) },
      layouts: RUNQSLOWER_LAYOUTS,
    });
    let cgroups: CgroupResolver | undefined;
    const pathOf = (id: string): string => {
      try {
        cgroups ??= new CgroupResolver({ minRefreshMs: 0 });
      } catch {
        return '';
      }
      return cgroups.resolve(id)?.path ?? '';
    };
    // The consumer is made here, not in start(), to keep the trip-to-attached path short.
    const ring = ringEvents(obj, 'runq_events', decodeRunqDelay);
    const delays: RunqDelay[] = ring.items;
    return {
      close: () => obj.close(),
      start(target, budget) {
        const out = new RecordBuffer(budget.maxBytes);
        return startSession({
          probe: 'runqslower',
          obj,
          target,
          budget,
          ring,
          read: () => {
            for (const d of delays) {
              out.push({
                pid: d.pid,
                comm: d.comm,
                cpu: d.cpu,
                delayMs: Number(d.delayNs) / 1e6,
                neighbours: d.neighbours.map((n) => ({
                  pid: n.pid,
                  comm: n.comm,
                  cgroupId: n.cgroupId,
                  cgroupPath: pathOf(n.cgroupId),
                  ranMs: Number(n.ranNs) / 1e6,
                })),
              });
            }
            const total = delays.reduce((s, d) => s + Number(d.delayNs), 0) / 1e9;
            const max = delays.reduce((m, d) => Math.max(m, Number(d.delayNs)), 0) / 1e9;
            return {
              records: out.records,
              userDropped: out.dropped,
              summary: {
                delays: delays.length,
                totalDelaySeconds: total,
                maxDelaySeconds: max,
                thresholdMs: opts.threshold_ms,
                neighbours: aggregateNeighbours(delays, pathOf),
              },
            };
          },
        });
      },
    };
  },
} satisfies CatalogProbe & { options: typeof runqslowerOptions };

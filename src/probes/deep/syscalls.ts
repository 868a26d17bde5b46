/**
 * The `syscalls` deep probe (bpf/deep/syscalls.bpf.c; bpf/counters/syscalls.bpf.c is the always-on family). For the target:
 * per-syscall counts and total time, and each call over a threshold with its first arguments
 * (raw_syscalls sys_enter/sys_exit).
 * Result: `records` — one per slow call: { syscall, pid, tid, comm, seconds, ret, args } (args in plain words; the
 * openat path is '<redacted>' unless ctx.redact is false). `summary` — { perSyscall: {[name]: {count, seconds}} (by
 * seconds, largest first), calls, seconds, thresholdMs, slowest: {syscall, pid, tid, comm, seconds, ret, args}[] }
 * (the `slowest` N, longest first), futexWaits and fileWaits (the slow calls grouped by lock and by file:
 * syscall-waits.ts).
 * Options: threshold_ms (calls this long or longer become events, default 1), slowest (N, default 20).
 */
import { z } from 'zod';
import { syscallName, syscallTable } from '../syscall-names.ts';
import { openProbeObject } from './open-probe.ts';
import { parseOptions } from './options.ts';
import { RecordBuffer } from './record-buffer.ts';
import { ringEvents } from './ring-events.ts';
import { startSession } from './session.ts';
import { formatSyscallArgs } from './syscall-args.ts';
import { fileWaits, futexWaits } from './syscall-waits.ts';
import type { CatalogProbe } from './types.ts';
import { num, count } from './summary.ts';

/** Sizes from bpf/deep/syscalls.h. */
export const SYSCALLS_EVENT_SIZE = 144;
export const SYSCALLS_TOTAL_SIZE = 16;
/** Struct layouts of bpf/deep/syscalls.h, checked against the object's BTF at load and by test/bpf/spec.test.ts. */
export const SYSCALLS_LAYOUTS = {
  syscalls_event: { size: SYSCALLS_EVENT_SIZE, fields: { id: 40, has_path: 52, comm: 56, path: 72, holder: 136 } },
  syscalls_total: { size: SYSCALLS_TOTAL_SIZE },
} as const;

/** Options of `capture.options.syscalls`. */
export const syscallsOptions = z
  .object({
    /** Calls at least this long (ms) are recorded one by one. @defaultValue 1 */
    threshold_ms: z.number().min(0).max(60_000).default(1),
    /** How many of the slowest calls the summary keeps. @defaultValue 20 */
    slowest: z.number().int().min(1).max(1000).default(20),
  })
  .strict();

/** One decoded slow call. */
export interface SlowCall {
  readonly durationNs: bigint;
  readonly ret: bigint;
  readonly args: readonly bigint[];
  readonly id: number;
  readonly pid: number;
  readonly tgid: number;
  readonly comm: string;
  readonly path: string | undefined;
  /** futex waits: the owner tid in the word after the lock at entry (0 when none or unreadable). */
  readonly holder: number;
}

const cstr = (b: Buffer, from: number, len: number): string => {
  const nul = b.indexOf(0, from);
  return b.toString('utf8', from, nul < 0 || nul > from + len ? from + len : nul);
};

/** Decodes struct syscalls_event; rejects buffers of other sizes. */
export function decodeSlowCall(b: Buffer): SlowCall {
  if (b.length !== SYSCALLS_EVENT_SIZE)
    throw new RangeError(`syscalls_event: ${b.length} bytes, expected ${SYSCALLS_EVENT_SIZE}`);
  return {
    durationNs: b.readBigUInt64LE(0),
    ret: b.readBigInt64LE(8),
    args: [b.readBigUInt64LE(16), b.readBigUInt64LE(24), b.readBigUInt64LE(32)],
    id: b.readUInt32LE(40),
    pid: b.readUInt32LE(44),
    tgid: b.readUInt32LE(48),
    comm: cstr(b, 56, 16),
    path: b.readUInt32LE(52) ? cstr(b, 72, 64) : undefined,
    holder: b.readUInt32LE(136),
  };
}

/** A syscall's number on this architecture, 0 when the table does not know it. */
function syscallNr(want: string): number {
  const t = syscallTable();
  if (!t) return 0;
  for (const [nr, name] of Object.entries(t)) if (name === want) return Number(nr);
  return 0;
}

/** Shape of `ProbeResult.summary` (see the module comment). */
export const syscallsSummary = z.object({
  perSyscall: z.record(z.string(), z.object({ count, seconds: num })),
  calls: count,
  seconds: num,
  thresholdMs: num,
  slowest: z.array(
    z.object({
      syscall: z.string(),
      pid: count,
      tid: count,
      comm: z.string(),
      seconds: num,
      ret: z.number(),
      args: z.string(),
    }),
  ),
  /** Slow futex waits by address (src/probes/deep/syscall-waits.ts). */
  futexWaits: z
    .array(
      z.object({
        uaddr: z.string(),
        pid: count,
        waits: count,
        seconds: num,
        threads: count,
        holder: z.object({ tid: count, comm: z.string() }).optional(),
      }),
    )
    .default([]),
  /** Slow calls on files by process and fd. */
  fileWaits: z
    .array(
      z.object({
        syscall: z.string(),
        pid: count,
        fd: z.number().int(),
        calls: count,
        seconds: num,
        path: z.string().optional(),
      }),
    )
    .default([]),
});

/** The syscalls deep probe. */
export const syscalls = {
  name: 'syscalls',
  description: 'System calls of the target: counts and time per syscall, the slowest calls with their arguments',
  options: syscallsOptions,
  summary: syscallsSummary,
  budget: { maxEvents: 50_000, maxBytes: 8 << 20 },
  doc: {
    what: 'per-syscall counts and time, slowest calls with arguments',
    hooks: '`tracepoint/raw_syscalls/sys_enter`, `sys_exit`',
    cost: 'per-syscall',
  },
  prepare(ctx) {
    const opts = parseOptions('syscalls', syscallsOptions, ctx.options);
    const obj = openProbeObject(ctx, 'syscalls', {
      rodata: {
        threshold_ns: BigInt(Math.round(opts.threshold_ms * 1e6)),
        openat_nr: syscallNr('openat'),
        futex_nr: syscallNr('futex'),
      },
      layouts: SYSCALLS_LAYOUTS,
    });
    const ring = ringEvents(obj, 'sys_events', decodeSlowCall);
    const calls: SlowCall[] = ring.items;
    const view = (c: SlowCall) => {
      const name = syscallName(c.id);
      return {
        syscall: name,
        pid: c.tgid,
        tid: c.pid,
        comm: c.comm,
        seconds: Number(c.durationNs) / 1e9,
        ret: Number(c.ret),
        args: formatSyscallArgs(name, c.args, c.path, ctx.redact),
      };
    };
    return {
      close: () => obj.close(),
      start(target, budget) {
        const out = new RecordBuffer(budget.maxBytes);
        return startSession({
          probe: 'syscalls',
          obj,
          target,
          budget,
          ring,
          read: () => {
            const perSyscall: Record<string, { count: number; seconds: number }> = {};
            let total = 0;
            let seconds = 0;
            const totals = obj.map('sys_totals');
            const stride = Math.ceil(totals.valueSize / 8) * 8;
            const rows: [string, { count: number; seconds: number }][] = [];
            for (const { key, value } of totals.entries()) {
              let count = 0;
              let ns = 0;
              for (let o = 0; o + SYSCALLS_TOTAL_SIZE <= value.length; o += stride) {
                count += Number(value.readBigUInt64LE(o));
                ns += Number(value.readBigUInt64LE(o + 8));
              }
              if (!count) continue;
              rows.push([syscallName(key.readUInt32LE(0)), { count, seconds: ns / 1e9 }]);
              total += count;
              seconds += ns / 1e9;
            }
            for (const [name, v] of rows.sort((a, b) => b[1].seconds - a[1].seconds)) perSyscall[name] = v;
            for (const c of calls) out.push(view(c));
            const slowest = [...calls]
              .sort((a, b) => (b.durationNs > a.durationNs ? 1 : b.durationNs < a.durationNs ? -1 : 0))
              .slice(0, opts.slowest)
              .map(view);
            const sawPath = calls.some((c) => c.path !== undefined);
            const waits = calls.map((c) => ({
              syscall: syscallName(c.id),
              tgid: c.tgid,
              tid: c.pid,
              seconds: Number(c.durationNs) / 1e9,
              args: c.args,
              holder: c.holder,
            }));
            const files = fileWaits(waits, ctx.redact);
            return {
              records: out.records,
              userDropped: out.dropped,
              redactions: ctx.redact && (sawPath || files.some((f) => f.path)) ? ['path arguments'] : [],
              summary: {
                perSyscall,
                calls: total,
                seconds,
                thresholdMs: opts.threshold_ms,
                slowest,
                futexWaits: futexWaits(waits),
                fileWaits: files,
              },
            };
          },
        });
      },
    };
  },
} satisfies CatalogProbe & { options: typeof syscallsOptions };

/**
 * pg: PostgreSQL query latency from the server's USDT probes postgresql:query__start / query__done (bpf/deep/pg.bpf.c),
 * with the first 128 bytes of each query's text. Attached to the postgres binary for all processes (backends fork
 * after the capture starts); the target filter picks the backends (cgroup, or the postmaster's pid and its children).
 * Result: `records` — one per query over the threshold: { kind, query (fingerprint: literals → ?), seconds, pid }
 * (plus `text`, the raw text, only when ctx.redact is false). `summary` — { perKind: {[kind]: {count, seconds,
 * p50Seconds, p99Seconds}} (all queries, from in-kernel histograms; quantiles as the rules compute them:
 * latency-summary.ts), queries, thresholdMs, slowest: {query, seconds, pid, kind}[] (longest first),
 * byFingerprint: {query, count, seconds, maxSeconds}[] (of the recorded queries, most time first) }.
 * Options: threshold_ms (default 1), slowest (default 20). The binary is the target's /proc/PID/exe, else the first
 * existing path of the config's `counters.pg_binaries`: never a path from a rule.
 */
import { existsSync, readlinkSync } from 'node:fs';
import { z } from 'zod';
import { TriplineError } from '../../errors.ts';
import { possibleCpus } from '../libbpf.ts';
import { decodeHist, HIST_LAYOUT, HIST_SIZE } from '../decode/hist.ts';
import { sumPerCpu } from '../decode/percpu.ts';
import { openProbeObject } from './open-probe.ts';
import { parseOptions } from './options.ts';
import { RecordBuffer } from './record-buffer.ts';
import { ringEvents } from './ring-events.ts';
import { startSession } from './session.ts';
import { latencySummary, type LatencySummary } from './latency-summary.ts';
import { fingerprintSql, type QueryKind } from './sql-fingerprint.ts';
import { DEFAULT_PROBE_SETTINGS, type CatalogProbe } from './types.ts';
import { num, count } from './summary.ts';

/** sizeof(struct pg_event) in bpf/deep/pg.h. */
export const PG_EVENT_SIZE = 152;
/** Struct layouts of bpf/deep/pg.h, checked against the object's BTF at load and by test/bpf/spec.test.ts. */
export const PG_LAYOUTS = {
  pg_event: { size: PG_EVENT_SIZE, fields: { kind: 12, query_len: 16, query: 24 } },
  hist: HIST_LAYOUT,
} as const;
const KINDS: readonly QueryKind[] = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'OTHER'];

/** Options of `capture.options.pg`. */
export const pgOptions = z
  .object({
    /** Queries at least this long (ms) are recorded with their text. @defaultValue 1 */
    threshold_ms: z.number().min(0).max(600_000).default(1),
    /** How many of the slowest queries the summary keeps. @defaultValue 20 */
    slowest: z.number().int().min(1).max(1000).default(20),
  })
  .strict();

/** One decoded query event. */
export interface PgQuery {
  readonly durationNs: bigint;
  readonly pid: number;
  readonly kind: QueryKind;
  readonly text: string;
}

/** Decodes struct pg_event; rejects buffers of other sizes. */
export function decodePgQuery(b: Buffer): PgQuery {
  if (b.length !== PG_EVENT_SIZE) throw new RangeError(`pg_event: ${b.length} bytes, expected ${PG_EVENT_SIZE}`);
  const len = Math.min(b.readUInt32LE(16), 128);
  const nul = b.indexOf(0, 24);
  const end = Math.min(24 + Math.max(0, len - 1), nul < 0 ? 152 : nul);
  return {
    durationNs: b.readBigUInt64LE(0),
    pid: b.readUInt32LE(8),
    kind: KINDS[b.readUInt32LE(12)] ?? 'OTHER',
    text: b.toString('utf8', 24, end),
  };
}

/**
 * The postgres binary to attach to: the target's own executable through /proc/PID/exe (the kernel's link to the
 * very inode it runs, also inside a container), else the first of the config's `counters.pg_binaries` that exists.
 * Never a path from a rule.
 */
function postgresBinary(pids: readonly number[] | undefined, configured: readonly string[]): string {
  for (const pid of pids ?? []) {
    const exe = `/proc/${pid}/exe`;
    try {
      readlinkSync(exe);
      return exe;
    } catch {
      /* gone: try the next */
    }
  }
  const found = configured.find((p) => existsSync(p));
  if (found) return found;
  throw new TriplineError('PROBE_ERR_ATTACH', 'pg: no live target process and no counters.pg_binaries binary here', {
    hint: 'target a postgres process (its pid or cgroup), or list the server binary in counters.pg_binaries',
  });
}

/** Shape of `ProbeResult.summary` (see the module comment). */
export const pgSummary = z.object({
  perKind: z.record(z.string(), z.object({ count, seconds: num, p50Seconds: num, p99Seconds: num })),
  queries: count,
  thresholdMs: num,
  binary: z.string(),
  slowest: z.array(z.object({ query: z.string(), seconds: num, pid: count, kind: z.string() })),
  byFingerprint: z.array(z.object({ query: z.string(), count, seconds: num, maxSeconds: num })),
});

/** The pg deep probe. */
export const pg = {
  name: 'pg',
  description: 'PostgreSQL query latency per kind and the slowest queries (literals stripped), from USDT probes',
  options: pgOptions,
  summary: pgSummary,
  budget: { maxEvents: 20_000, maxBytes: 4 << 20 },
  doc: {
    what: 'PostgreSQL query latency per kind, slowest queries',
    hooks: 'USDT `postgresql:query__start`, `query__done`',
    cost: 'per-event (2 uprobes per query)',
  },
  prepare(ctx) {
    const opts = parseOptions('pg', pgOptions, ctx.options);
    const obj = openProbeObject(ctx, 'pg', {
      rodata: { threshold_ns: BigInt(Math.round(opts.threshold_ms * 1e6)) },
      layouts: PG_LAYOUTS,
    });
    const ring = ringEvents(obj, 'pg_events', decodePgQuery);
    const queries: PgQuery[] = ring.items;
    return {
      close: () => obj.close(),
      start(target, budget) {
        const binary = postgresBinary(target.pids, (ctx.settings ?? DEFAULT_PROBE_SETTINGS).pgBinaries);
        const out = new RecordBuffer(budget.maxBytes);
        return startSession({
          probe: 'pg',
          obj,
          target,
          budget,
          matchChildren: true,
          attach: (o) => {
            try {
              o.attachUsdt('tld_pg_start', { binary, provider: 'postgresql', name: 'query__start' });
              o.attachUsdt('tld_pg_done', { binary, provider: 'postgresql', name: 'query__done' });
            } catch (cause) {
              throw new TriplineError('PROBE_ERR_ATTACH', `pg: cannot attach to the USDT probes of ${binary}`, {
                hint: 'set capture.options.pg.binary to a postgres built with --enable-dtrace',
                cause,
              });
            }
          },
          ring,
          read: () => {
            const perKind: Record<string, LatencySummary> = {};
            let total = 0;
            for (const { key, value } of obj.map('pg_kinds').entries()) {
              const lat = latencySummary(decodeHist(sumPerCpu(value, HIST_SIZE, possibleCpus(), 'pg_kinds')));
              if (!lat.count) continue;
              total += lat.count;
              perKind[KINDS[key.readUInt32LE(0)] ?? 'OTHER'] = lat;
            }
            const view = queries.map((q) => ({
              kind: q.kind,
              query: fingerprintSql(q.text),
              seconds: Number(q.durationNs) / 1e9,
              pid: q.pid,
              ...(ctx.redact ? {} : { text: q.text }),
            }));
            for (const v of view) out.push(v);
            const slowest = [...view]
              .sort((a, b) => b.seconds - a.seconds)
              .slice(0, opts.slowest)
              .map(({ query, seconds, pid, kind }) => ({ query, seconds, pid, kind }));
            const fp = new Map<string, { query: string; count: number; seconds: number; maxSeconds: number }>();
            for (const v of view) {
              const a = fp.get(v.query) ?? { query: v.query, count: 0, seconds: 0, maxSeconds: 0 };
              a.count++;
              a.seconds += v.seconds;
              a.maxSeconds = Math.max(a.maxSeconds, v.seconds);
              fp.set(v.query, a);
            }
            return {
              records: out.records,
              userDropped: out.dropped,
              redactions: ctx.redact ? ['sql literals'] : [],
              summary: {
                perKind,
                queries: total,
                thresholdMs: opts.threshold_ms,
                binary,
                slowest,
                byFingerprint: [...fp.values()].sort((a, b) => b.seconds - a.seconds).slice(0, 20),
              },
            };
          },
        });
      },
    };
  },
} satisfies CatalogProbe & { options: typeof pgOptions };

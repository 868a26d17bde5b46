/**
 * http: the HTTP/1 requests the target serves (bpf/deep/http.bpf.c; bpf/counters/http.bpf.c is the always-on family),
 * read at the server's socket system calls: request line read → status line written, per connection. Each record:
 * { method, path (ids masked, no query: the kernel keeps the path up to '?'), status, seconds, pid, tid, onCpuSeconds,
 * runqSeconds, blockedSeconds } — how the thread that read the request spent that time (on CPU, waiting for a CPU,
 * blocked), from sched_switch/sched_wakeup; a thread serving several requests at once (an event loop) counts its
 * time in each. Never headers or bodies. `summary` — { requests, thresholdMs, routes: HttpRoute[] (most time first),
 * slowest: record[] (longest first), findings: string[] }. HTTP/2 streams and pipelined requests after the first of
 * a read are not recorded.
 * Options: threshold_ms (requests at least this long are recorded, default 0), slowest (default 20).
 */
import { z } from 'zod';
import { openProbeObject } from './open-probe.ts';
import { parseOptions } from './options.ts';
import { RecordBuffer } from './record-buffer.ts';
import { ringEvents } from './ring-events.ts';
import { startSession } from './session.ts';
import type { CatalogProbe } from './types.ts';
import { num, count } from './summary.ts';
import { httpFindings, httpRoutes, maskPath, type HttpRequestView } from './http-routes.ts';

/** Sizes and layouts of bpf/deep/http.h, checked against the object's BTF at load and by test/bpf/spec.test.ts. */
export const HTTPD_EVENT_SIZE = 112;
export const HTTPD_LAYOUTS = {
  httpd_event: {
    size: HTTPD_EVENT_SIZE,
    fields: {
      latency_ns: 0,
      on_cpu_ns: 8,
      runq_ns: 16,
      blocked_ns: 24,
      pid: 32,
      tid: 36,
      status: 40,
      method: 42,
      path: 48,
    },
  },
  httpd_thread: { size: 48 },
  httpd_req: { size: 112 },
} as const;
/** HTTPD_* of bpf/deep/http.h, by value. */
export const HTTPD_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS'] as const;
const PATH_LEN = 64;

/** Options of `capture.options.http`. */
export const httpOptions = z
  .object({
    /** Requests at least this long (ms) are recorded. @defaultValue 0 */
    threshold_ms: z.number().min(0).max(600_000).default(0),
    /** How many of the slowest requests the summary keeps. @defaultValue 20 */
    slowest: z.number().int().min(1).max(1000).default(20),
  })
  .strict();

/** Decodes struct httpd_event; rejects buffers of other sizes. */
export function decodeHttpRequest(b: Buffer): HttpRequestView {
  if (b.length !== HTTPD_EVENT_SIZE)
    throw new RangeError(`httpd_event: ${b.length} bytes, expected ${HTTPD_EVENT_SIZE}`);
  const len = Math.min(b[43], PATH_LEN);
  const s = (o: number) => Number(b.readBigUInt64LE(o)) / 1e9;
  return {
    method: HTTPD_METHODS[b[42]] ?? 'OTHER',
    path: maskPath(b.toString('latin1', 48, 48 + len), PATH_LEN),
    status: b.readUInt16LE(40),
    seconds: s(0),
    pid: b.readUInt32LE(32),
    tid: b.readUInt32LE(36),
    onCpuSeconds: s(8),
    runqSeconds: s(16),
    blockedSeconds: s(24),
  };
}

const request = z.object({
  method: z.string(),
  path: z.string(),
  status: count,
  seconds: num,
  pid: count,
  tid: count,
  onCpuSeconds: num,
  runqSeconds: num,
  blockedSeconds: num,
});

/** Shape of `ProbeResult.summary` (see the module comment). */
export const httpSummary = z.object({
  requests: count,
  thresholdMs: num,
  routes: z.array(
    z.object({
      method: z.string(),
      path: z.string(),
      count,
      errors: count,
      seconds: num,
      p99Seconds: num,
      maxSeconds: num,
      onCpuShare: num,
      runqShare: num,
      blockedShare: num,
    }),
  ),
  slowest: z.array(request),
  findings: z.array(z.string()),
});

/** The http deep probe. */
export const http = {
  name: 'http',
  description:
    'HTTP/1 requests the target serves: method, masked path, status, latency, and on-CPU / waiting / blocked time',
  options: httpOptions,
  summary: httpSummary,
  budget: { maxEvents: 20_000, maxBytes: 4 << 20 },
  doc: {
    what: 'HTTP/1 requests served: slowest, per route p99, on-CPU / waiting / blocked',
    hooks: '`raw_syscalls:sys_exit`, `sched_switch`, `sched_wakeup`',
    cost: 'per-syscall and per-switch',
  },
  prepare(ctx) {
    const opts = parseOptions('http', httpOptions, ctx.options);
    const obj = openProbeObject(ctx, 'http', {
      rodata: { threshold_ns: BigInt(Math.round(opts.threshold_ms * 1e6)) },
      layouts: HTTPD_LAYOUTS,
      twins: { tpBtf: ['tld_http_exit', 'tld_http_switch', 'tld_http_wake'] },
    });
    const ring = ringEvents(obj, 'httpd_events', decodeHttpRequest);
    const reqs: HttpRequestView[] = ring.items;
    return {
      close: () => obj.close(),
      start(target, budget) {
        const out = new RecordBuffer(budget.maxBytes);
        return startSession({
          probe: 'http',
          obj,
          target,
          budget,
          ring,
          read: () => {
            for (const r of reqs) out.push({ ...r });
            const routes = httpRoutes(reqs);
            return {
              records: out.records,
              userDropped: out.dropped,
              redactions: reqs.length ? ['request path ids', 'query strings'] : [],
              summary: {
                requests: reqs.length,
                thresholdMs: opts.threshold_ms,
                routes: routes.slice(0, 50),
                slowest: [...reqs].sort((a, b) => b.seconds - a.seconds).slice(0, opts.slowest),
                findings: httpFindings(routes),
              },
            };
          },
        });
      },
    };
  },
} satisfies CatalogProbe & { options: typeof httpOptions };

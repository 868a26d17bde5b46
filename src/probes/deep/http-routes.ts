/**
 * The http deep probe's pure half: request paths with ids masked, and per-route figures with the finding lines of a
 * capture. Pure.
 */
import { sampleQuantile } from '../../quantile.ts';

/** A path segment that names one object rather than a route: a number, a UUID, a long hex or token. */
const ID_SEGMENT = [
  /^\d+$/,
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  /^[0-9a-f]{12,}$/i,
  /^(?=[^/]*\d)[A-Za-z0-9_~.=-]{16,}$/,
];

/**
 * The route of a raw request path (as the kernel cut it: before any query, at most `max` bytes): segments that are
 * ids become `{id}`, other characters outside printable ASCII become `?`; a path cut at `max` bytes ends with `…`.
 */
export function maskPath(raw: string, max = 64): string {
  const clean = raw.replace(/[^\x21-\x7e]/g, '?');
  const masked = clean
    .split('/')
    .map((s) => (ID_SEGMENT.some((re) => re.test(s)) ? '{id}' : s))
    .join('/');
  return Buffer.byteLength(raw) >= max ? `${masked}…` : masked;
}

/** One request as the probe reports it. */
export interface HttpRequestView {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly seconds: number;
  readonly pid: number;
  readonly tid: number;
  readonly onCpuSeconds: number;
  readonly runqSeconds: number;
  readonly blockedSeconds: number;
}

/** The figures of one route (method and masked path). */
export interface HttpRoute {
  readonly method: string;
  readonly path: string;
  readonly count: number;
  readonly errors: number;
  readonly seconds: number;
  readonly p99Seconds: number;
  readonly maxSeconds: number;
  /** Shares of the requests' time the reading thread spent on CPU, waiting for a CPU, blocked (sum <= 1). */
  readonly onCpuShare: number;
  readonly runqShare: number;
  readonly blockedShare: number;
}

/** Per-route figures, most total time first. */
export function httpRoutes(reqs: readonly HttpRequestView[]): HttpRoute[] {
  const by = new Map<string, HttpRequestView[]>();
  for (const r of reqs) {
    const k = `${r.method} ${r.path}`;
    const list = by.get(k);
    if (list) list.push(r);
    else by.set(k, [r]);
  }
  const out: HttpRoute[] = [];
  for (const list of by.values()) {
    const secs = list.map((r) => r.seconds).sort((a, b) => a - b);
    const total = secs.reduce((a, b) => a + b, 0);
    const share = (f: (r: HttpRequestView) => number) =>
      total > 0 ? Math.min(1, list.reduce((a, r) => a + f(r), 0) / total) : 0;
    out.push({
      method: list[0].method,
      path: list[0].path,
      count: list.length,
      errors: list.filter((r) => r.status >= 500).length,
      seconds: total,
      p99Seconds: sampleQuantile(secs, 0.99),
      maxSeconds: secs[secs.length - 1],
      onCpuShare: share((r) => r.onCpuSeconds),
      runqShare: share((r) => r.runqSeconds),
      blockedShare: share((r) => r.blockedSeconds),
    });
  }
  return out.sort((a, b) => b.seconds - a.seconds);
}

const ms = (s: number): string => (s >= 1 ? `${+s.toFixed(2)} s` : `${Math.round(s * 1000)} ms`);
const pct = (x: number): string => `${Math.round(x * 100)} %`;

/**
 * Finding lines for the `n` routes with the most time: p99, and where the time of those requests went when one part
 * dominates, e.g. `p99 812 ms on POST /api/orders/{id} (31 requests): 64 % of their time blocked`.
 */
export function httpFindings(routes: readonly HttpRoute[], n = 3): string[] {
  return routes.slice(0, n).map((r) => {
    const parts: [string, number][] = [
      ['blocked', r.blockedShare],
      ['on CPU', r.onCpuShare],
      ['waiting for a CPU', r.runqShare],
    ];
    const [what, share] = parts.sort((a, b) => b[1] - a[1])[0];
    const errors = r.errors ? `, ${r.errors} answered 5xx` : '';
    return `p99 ${ms(r.p99Seconds)} on ${r.method} ${r.path} (${r.count} request${r.count === 1 ? '' : 's'}${errors}): ${pct(share)} of their time ${what}`;
  });
}

/** Decoder of the http counter family's maps (contract: bpf/counters/http.h). Pure: bytes in, readings out. */
import type { Reading } from '../counters/types.ts';
import { TriplineError } from '../../errors.ts';
import { HIST_SIZE, decodeHist, histBounds, histEmpty } from './hist.ts';
import { expectLength, sumPerCpu } from './percpu.ts';
import { freshCgroupLabels, type CgroupLabelsOf } from './labels.ts';

/** Mirrors bpf/counters/http.h. */
export const HTTP = {
  unitNs: 1000,
  keySize: 16,
  latencyValueSize: HIST_SIZE,
  framesKeySize: 8,
  framesValueSize: 64,
  layouts: {
    http_key: { size: 16, fields: { cgroup_id: 0, method: 8, status_class: 9, protocol: 10, side: 11, pad: 12 } },
    http_frames: { size: 64, fields: { n: 0 } },
    http_conn: {
      size: 24,
      fields: {
        req_ns: 0,
        rd_skip: 8,
        wr_skip: 12,
        proto: 16,
        method: 17,
        answered: 18,
        desync: 19,
        side: 20,
        pad: 21,
      },
    },
    http_stream: { size: 16, fields: { start_ns: 0, id: 8, method: 12, status_class: 13, flags: 14, pad: 15 } },
    http_streams: { size: 208, fields: { s: 0, dyn: 128, dyn_n: 192, unmatched_id: 196, dyn_lost: 200, pad: 201 } },
  },
} as const;

/** HTTP_METHOD_* by value: the `method` label. */
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'OTHER'] as const;
/** Status class by value (0: not readable): the `status_class` label. */
export const HTTP_STATUS_CLASSES = ['unknown', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** HTTP_PROTO_* by value: the `protocol` label. */
export const HTTP_PROTOCOLS = ['http1', 'h2'] as const;
/** Signal of each HTTP_SIDE_* (server, client). */
export const HTTP_SIDE_SIGNALS = ['http_request_duration_seconds', 'http_client_request_duration_seconds'] as const;
/** HTTP_FRAME_* by index of struct http_frames: the `type` label. */
export const HTTP2_FRAME_TYPES = [
  'DATA',
  'HEADERS',
  'RST_STREAM',
  'SETTINGS',
  'PING',
  'GOAWAY',
  'WINDOW_UPDATE',
  'other',
] as const;

function layoutError(what: string, v: number): TriplineError {
  return new TriplineError('PROBE_ERR_LAYOUT', `http_latency key: ${what} ${v} is not a value the decoder knows`, {
    hint: 'the HTTP_* values of bpf/counters/http.h and src/probes/decode/http.ts must agree; rebuild (scripts/build-bpf)',
  });
}

/** One http_latency entry (key: cgroup id, method, status class, protocol, side) → histogram in seconds; [] when empty. */
export function decodeHttpLatencyEntry(
  key: Buffer,
  value: Buffer,
  cpus: number,
  labelsOf: CgroupLabelsOf = freshCgroupLabels,
): Reading[] {
  expectLength(key, HTTP.keySize, 'http_latency key');
  const method = HTTP_METHODS[key[8]];
  const status = HTTP_STATUS_CLASSES[key[9]];
  const protocol = HTTP_PROTOCOLS[key[10]];
  if (method === undefined) throw layoutError('method', key[8]);
  if (status === undefined) throw layoutError('status class', key[9]);
  if (protocol === undefined) throw layoutError('protocol', key[10]);
  const signal = HTTP_SIDE_SIGNALS[key[11]];
  if (signal === undefined) throw layoutError('side', key[11]);
  const h = decodeHist(sumPerCpu(value, HTTP.latencyValueSize, cpus, 'http_latency value'));
  if (histEmpty(h)) return [];
  return [
    {
      kind: 'histogram',
      signal,
      labels: { ...labelsOf(key, 0), method, status_class: status, protocol },
      bounds: histBounds(HTTP.unitNs),
      counts: h.counts,
      sum: (h.sum * HTTP.unitNs) / 1e9,
    },
  ];
}

/** One http2_frames entry (key: cgroup id) → one counter per frame type seen. */
export function decodeHttp2FramesEntry(
  key: Buffer,
  value: Buffer,
  cpus: number,
  labelsOf: CgroupLabelsOf = freshCgroupLabels,
): Reading[] {
  expectLength(key, HTTP.framesKeySize, 'http2_frames key');
  const n = sumPerCpu(value, HTTP.framesValueSize, cpus, 'http2_frames value');
  const out: Reading[] = [];
  const cg = labelsOf(key, 0);
  HTTP2_FRAME_TYPES.forEach((type, i) => {
    if (n[i] > 0) out.push({ kind: 'counter', signal: 'http2_frames', labels: { ...cg, type }, value: n[i] });
  });
  return out;
}

/**
 * Per-cgroup request and 5xx counts from the http_request_duration_seconds readings of one read (same map, no other
 * kernel state): `http_requests` and `http_server_errors` (0 when none failed), the two counters an error-ratio rule
 * divides. The labels of each cgroup are those of its first histogram reading's `cgroup_id`.
 */
export function httpRequestCounters(readings: readonly Reading[]): Reading[] {
  const per = new Map<string, { all: number; errors: number }>();
  for (const r of readings) {
    if (r.kind !== 'histogram' || r.signal !== 'http_request_duration_seconds') continue;
    const id = r.labels.cgroup_id;
    let c = per.get(id);
    if (!c) per.set(id, (c = { all: 0, errors: 0 }));
    let n = 0;
    for (const x of r.counts) n += x;
    c.all += n;
    if (r.labels.status_class === '5xx') c.errors += n;
  }
  const out: Reading[] = [];
  for (const [cgroup_id, c] of per) {
    out.push({ kind: 'counter', signal: 'http_requests', labels: { cgroup_id }, value: c.all });
    out.push({ kind: 'counter', signal: 'http_server_errors', labels: { cgroup_id }, value: c.errors });
  }
  return out;
}

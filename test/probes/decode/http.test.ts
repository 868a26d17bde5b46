import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HTTP,
  HTTP2_FRAME_TYPES,
  HTTP_METHODS,
  HTTP_PROTOCOLS,
  HTTP_STATUS_CLASSES,
  decodeHttp2FramesEntry,
  decodeHttpLatencyEntry,
  httpRequestCounters,
} from '../../../src/probes/decode/http.ts';
import { HIST_SLOTS } from '../../../src/probes/decode/hist.ts';
import { sweepExited } from '../../../src/probes/counters/http.ts';
import { hasCode } from '../../../src/errors.ts';
import { perCpuBytes } from './fixtures/per-cpu.ts';

/** struct http_key bytes: __u64 cgroup id, __u8 method, status class, protocol, pad[5]. */
const key = (cgroup: bigint, method: number, status: number, proto: number): Buffer => {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(cgroup, 0);
  b[8] = method;
  b[9] = status;
  b[10] = proto;
  return b;
};
const words = (slots: Record<number, number>, sum: number): number[] => {
  const w = new Array<number>(HIST_SLOTS + 1).fill(0);
  for (const [s, n] of Object.entries(slots)) w[Number(s)] = n;
  w[HIST_SLOTS] = sum;
  return w;
};
const cg = (id: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(id);
  return b;
};

test('latency entry → histogram in seconds labelled with method, status class and protocol, summed over CPUs', () => {
  // CPU 0: one 300 µs request (slot 9: [256, 512) µs); CPU 1: one 200 ms request (slot 18).
  const [r] = decodeHttpLatencyEntry(
    key(4026531835n, 1, 5, 1),
    perCpuBytes([words({ 9: 1 }, 300), words({ 18: 1 }, 200_000)]),
    2,
  );
  assert.ok(r.kind === 'histogram');
  assert.equal(r.signal, 'http_request_duration_seconds');
  assert.deepEqual(r.labels, { cgroup_id: '4026531835', method: 'POST', status_class: '5xx', protocol: 'h2' });
  assert.equal(r.counts[9], 1);
  assert.equal(r.counts[18], 1);
  assert.equal(r.bounds[18], 0.262144);
  assert.equal(r.sum, 0.2003);
});

test('every kernel method, status class and protocol value has a label, in the header order', () => {
  assert.deepEqual(HTTP_METHODS, ['GET', 'POST', 'PUT', 'DELETE', 'OTHER']);
  assert.deepEqual(HTTP_STATUS_CLASSES, ['unknown', '1xx', '2xx', '3xx', '4xx', '5xx']);
  assert.deepEqual(HTTP_PROTOCOLS, ['http1', 'h2']);
  const [r] = decodeHttpLatencyEntry(key(7n, 4, 0, 0), perCpuBytes([words({ 1: 1 }, 1)]), 1);
  assert.deepEqual(r.labels, { cgroup_id: '7', method: 'OTHER', status_class: 'unknown', protocol: 'http1' });
});

test('an entry with no observations yields no reading', () => {
  assert.deepEqual(decodeHttpLatencyEntry(key(7n, 0, 2, 0), perCpuBytes([words({}, 0), words({}, 0)]), 2), []);
});

test('frames entry → one counter per frame type seen, summed over CPUs', () => {
  const rs = decodeHttp2FramesEntry(
    cg(42n),
    perCpuBytes([
      [1, 2, 0, 1, 0, 0, 0, 0],
      [1, 2, 0, 1, 0, 0, 3, 4],
    ]),
    2,
  );
  assert.deepEqual(
    rs.map((r) => [r.labels.type, r.kind === 'counter' ? r.value : -1]),
    [
      ['DATA', 2],
      ['HEADERS', 4],
      ['SETTINGS', 2],
      ['WINDOW_UPDATE', 3],
      ['other', 4],
    ],
  );
  assert.ok(rs.every((r) => r.signal === 'http2_frames' && r.labels.cgroup_id === '42'));
  assert.equal(HTTP2_FRAME_TYPES.length * 8, HTTP.framesValueSize);
});

test('unknown label values and wrong sizes are rejected with PROBE_ERR_LAYOUT', () => {
  const v = perCpuBytes([words({ 1: 1 }, 1)]);
  for (const k of [key(7n, 5, 2, 0), key(7n, 0, 6, 0), key(7n, 0, 2, 2), Buffer.alloc(8)])
    assert.throws(
      () => decodeHttpLatencyEntry(k, v, 1),
      (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
    );
  assert.throws(
    () => decodeHttpLatencyEntry(key(7n, 0, 2, 0), v, 2),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
  assert.throws(
    () => decodeHttp2FramesEntry(cg(1n), Buffer.alloc(63), 1),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
});

test('sweep: entries of exited processes are deleted, each process checked once', () => {
  const k = (tgid: number, fd: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(fd, 0);
    b.writeUInt32LE(tgid, 4);
    return b;
  };
  const checked: number[] = [];
  const deleted: string[] = [];
  const n = sweepExited(
    [k(10, 3), k(11, 4), k(10, 5), k(12, 6)],
    (key) => deleted.push(`${key.readUInt32LE(4)}/${key.readUInt32LE(0)}`),
    (tgid) => (checked.push(tgid), tgid === 11),
  );
  assert.equal(n, 3);
  assert.deepEqual(deleted, ['10/3', '10/5', '12/6']);
  assert.deepEqual(checked, [10, 11, 12]);
  // TLS keys: bit 63, the tgid's low 16 bits in bits 47-62, the SSL object's address below.
  const tls = (tgid: number, ssl: bigint): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE((1n << 63n) | (BigInt(tgid & 0xffff) << 47n) | ssl);
    return b;
  };
  const gone: bigint[] = [];
  const m = sweepExited(
    [tls(70000, 0x5555_0000_1000n), tls(300, 0x5555_0000_2000n)],
    (key) => gone.push(key.readBigUInt64LE(0) & ((1n << 47n) - 1n)),
    () => assert.fail('a TLS key has no whole tgid to check'),
    () => new Set([70000 & 0xffff]),
  );
  assert.equal(m, 1);
  assert.deepEqual(gone, [0x5555_0000_2000n]);
});

test('request and 5xx counters per cgroup from the latency readings', () => {
  const h = (cgroup: bigint, status: number, n: number) =>
    decodeHttpLatencyEntry(key(cgroup, 0, status, 0), perCpuBytes([words({ 3: n }, n)]), 1);
  const rs = httpRequestCounters([...h(1n, 2, 7), ...h(1n, 5, 3), ...h(1n, 4, 1), ...h(2n, 2, 4)]);
  assert.deepEqual(
    rs.map((r) => [r.signal, r.labels.cgroup_id, r.kind === 'counter' ? r.value : -1]),
    [
      ['http_requests', '1', 11],
      ['http_server_errors', '1', 3],
      ['http_requests', '2', 4],
      ['http_server_errors', '2', 0],
    ],
  );
  assert.deepEqual(httpRequestCounters([]), []);
});

test('side 1 is the client signal; another side is refused', () => {
  const k = key(9n, 0, 2, 0);
  k[11] = 1;
  const [r] = decodeHttpLatencyEntry(k, perCpuBytes([words({ 1: 1 }, 1)]), 1);
  assert.equal(r.signal, 'http_client_request_duration_seconds');
  assert.deepEqual(httpRequestCounters([r]), [], 'client requests are not the server counts');
  k[11] = 2;
  assert.throws(
    () => decodeHttpLatencyEntry(k, perCpuBytes([words({ 1: 1 }, 1)]), 1),
    (e) => hasCode(e, 'PROBE_ERR_LAYOUT'),
  );
});

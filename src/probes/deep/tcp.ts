/**
 * tcp: the target's TCP connects with their handshake latency, failed connects, retransmits and resets
 * (bpf/deep/tcp.bpf.c; tracepoints sock:inet_sock_set_state, tcp:tcp_retransmit_skb, tcp:tcp_send_reset,
 * tcp:tcp_receive_reset). Sockets count as the target's once it connects them or changes their state itself.
 * Result: `records` — one per event: { type: connect|connect-failed|retransmit|send-reset|receive-reset, pid, comm,
 * local, remote ("addr:port"), seconds (connects: handshake time) }. `summary` — { connects, connectFailures,
 * retransmits, sendResets, receiveResets, connectSeconds: {p50, p99, max}, byRemote: {remote, connects, failures,
 * retransmits, resets}[] (most trouble first, at most 20) }.
 * Options: none.
 */
import { z } from 'zod';
import { sampleQuantile } from '../../quantile.ts';
import { openProbeObject } from './open-probe.ts';
import { parseOptions } from './options.ts';
import { RecordBuffer } from './record-buffer.ts';
import { ringEvents } from './ring-events.ts';
import { startSession } from './session.ts';
import type { CatalogProbe } from './types.ts';
import { num, count } from './summary.ts';

/** sizeof(struct tcpd_event) in bpf/deep/tcp.h. */
export const TCPD_EVENT_SIZE = 72;
/** Struct layouts of bpf/deep/tcp.h, checked against the object's BTF at load and by test/bpf/spec.test.ts. */
export const TCPD_LAYOUTS = {
  tcpd_event: { size: TCPD_EVENT_SIZE, fields: { family: 16, saddr: 24, daddr: 40, comm: 56 } },
} as const;
const TYPES: Record<number, TcpEventType> = {
  1: 'connect',
  2: 'connect-failed',
  3: 'retransmit',
  4: 'send-reset',
  5: 'receive-reset',
};

/** Kinds of tcp events. */
export type TcpEventType = 'connect' | 'connect-failed' | 'retransmit' | 'send-reset' | 'receive-reset';

/** Options of `capture.options.tcp` (none yet; unknown keys are rejected). */
export const tcpOptions = z.object({}).strict();

/** One decoded event. */
export interface TcpEvent {
  readonly type: TcpEventType;
  readonly latencyNs: bigint;
  readonly tgid: number;
  readonly local: string;
  readonly remote: string;
  readonly comm: string;
}

function addr(b: Buffer, off: number, family: number, port: number): string {
  if (family === 2) return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}:${port}`;
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(off + i).toString(16));
  return `[${parts.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}]:${port}`;
}

/** Decodes struct tcpd_event; rejects buffers of other sizes. */
export function decodeTcpEvent(b: Buffer): TcpEvent {
  if (b.length !== TCPD_EVENT_SIZE) throw new RangeError(`tcpd_event: ${b.length} bytes, expected ${TCPD_EVENT_SIZE}`);
  const family = b.readUInt16LE(16);
  const nul = b.indexOf(0, 56);
  return {
    type: TYPES[b.readUInt32LE(8)] ?? 'connect',
    latencyNs: b.readBigUInt64LE(0),
    tgid: b.readUInt32LE(12),
    // The tracepoints give ports in host order.
    local: addr(b, 24, family, b.readUInt16LE(18)),
    remote: addr(b, 40, family, b.readUInt16LE(20)),
    comm: b.toString('utf8', 56, nul < 0 || nul > 72 ? 72 : nul),
  };
}

/** Quantile of the connect times (each one observed, so exact: `sampleQuantile`); 0 when there were none. */
const pct = (lat: readonly number[], q: number): number => (lat.length ? sampleQuantile(lat, q) : 0);

/** Shape of `ProbeResult.summary` (see the module comment). */
export const tcpSummary = z.object({
  connects: count,
  connectFailures: count,
  retransmits: count,
  sendResets: count,
  receiveResets: count,
  connectSeconds: z.object({ p50: num, p99: num, max: num }),
  byRemote: z.array(
    z.object({ remote: z.string(), connects: count, failures: count, retransmits: count, resets: count }),
  ),
});

/** The tcp deep probe. */
export const tcp = {
  name: 'tcp',
  description: 'TCP connects (latency), failed connects, retransmits and resets of the target',
  options: tcpOptions,
  summary: tcpSummary,
  budget: { maxEvents: 20_000, maxBytes: 4 << 20 },
  doc: {
    what: 'connects and their latency, failed connects, retransmits, resets',
    hooks: '`sock:inet_sock_set_state`, `tcp:tcp_retransmit_skb`, `tcp:tcp_send_reset`, `tcp:tcp_receive_reset`',
    cost: 'per-event',
  },
  prepare(ctx) {
    parseOptions('tcp', tcpOptions, ctx.options);
    const obj = openProbeObject(ctx, 'tcp', {
      layouts: TCPD_LAYOUTS,
    });
    const ring = ringEvents(obj, 'tcpd_events', decodeTcpEvent);
    const events: TcpEvent[] = ring.items;
    return {
      close: () => obj.close(),
      start(target, budget) {
        const out = new RecordBuffer(budget.maxBytes);
        return startSession({
          probe: 'tcp',
          obj,
          target,
          budget,
          ring,
          read: () => {
            const count = (t: TcpEventType) => events.filter((e) => e.type === t).length;
            const lat = events
              .filter((e) => e.type === 'connect')
              .map((e) => Number(e.latencyNs) / 1e9)
              .sort((a, b) => a - b);
            const by = new Map<
              string,
              { remote: string; connects: number; failures: number; retransmits: number; resets: number }
            >();
            for (const e of events) {
              out.push({
                type: e.type,
                pid: e.tgid,
                comm: e.comm,
                local: e.local,
                remote: e.remote,
                seconds: Number(e.latencyNs) / 1e9,
              });
              const a = by.get(e.remote) ?? { remote: e.remote, connects: 0, failures: 0, retransmits: 0, resets: 0 };
              if (e.type === 'connect') a.connects++;
              else if (e.type === 'connect-failed') a.failures++;
              else if (e.type === 'retransmit') a.retransmits++;
              else a.resets++;
              by.set(e.remote, a);
            }
            const trouble = (a: { failures: number; retransmits: number; resets: number; connects: number }) =>
              a.failures * 1e6 + a.resets * 1e3 + a.retransmits + a.connects / 1e6;
            return {
              records: out.records,
              userDropped: out.dropped,
              summary: {
                connects: lat.length,
                connectFailures: count('connect-failed'),
                retransmits: count('retransmit'),
                sendResets: count('send-reset'),
                receiveResets: count('receive-reset'),
                connectSeconds: { p50: pct(lat, 0.5), p99: pct(lat, 0.99), max: lat.length ? lat[lat.length - 1] : 0 },
                byRemote: [...by.values()].sort((a, b) => trouble(b) - trouble(a)).slice(0, 20),
              },
            };
          },
        });
      },
    };
  },
} satisfies CatalogProbe & { options: typeof tcpOptions };

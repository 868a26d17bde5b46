/**
 * http family: server-side HTTP/1.x and HTTP/2 (h2c) request latency per cpu cgroup of the server, method, status
 * class and protocol, and HTTP/2 frames per cgroup and type, read from the first bytes of socket reads and writes at
 * the exit of the system calls (bpf/counters/http.bpf.c). Connections live in a bounded kernel hash keyed by process
 * and fd, deleted at close(); the entries of processes that exited without closing are removed here, once a minute.
 * HTTPS: uprobes on SSL_read/SSL_write of each shared libssl of `counters.http_libssl` (http-tls.ts).
 */
import { existsSync, readdirSync } from 'node:fs';
import type { CounterFactory, CounterFamily, Reading } from './types.ts';
import { http as spec } from './spec/http.ts';
import { entryFields } from './spec/types.ts';
import { pushAll, startBpfFamily, type HookKind } from './bpf-family.ts';
import { HTTP, decodeHttp2FramesEntry, decodeHttpLatencyEntry, httpRequestCounters } from '../decode/http.ts';
import { CgroupLabels } from '../decode/labels.ts';
import { HIST_LAYOUT } from '../decode/hist.ts';
import { TLS_PROGRAMS, attachTls, staticTlsServers } from './http-tls.ts';
import { existingBinaries } from './pg.ts';

const PROGRAMS = ['tlc_http_exit'] as const;
/** How often connections of exited processes are swept from the kernel hashes. */
const SWEEP_MS = 60_000;

/** Low 16 bits of every live process id (a TLS key keeps only those of its tgid). */
function liveLow16(): Set<number> {
  const out = new Set<number>();
  for (const name of readdirSync('/proc')) if (/^\d+$/.test(name)) out.add(Number(name) & 0xffff);
  return out;
}

/**
 * Deletes the entries of `keys` whose process is gone; returns how many. An fd key is tgid << 32 | fd; a TLS key
 * (bit 63 set) holds the low 16 bits of its tgid in bits 47-62, so it goes only when no live process shares them.
 * The kernel's tgids are the initial pid namespace's, as /proc's are in the engine's probe side.
 */
export function sweepExited(
  keys: readonly Buffer[],
  del: (key: Buffer) => void,
  alive: (tgid: number) => boolean = (tgid) => existsSync(`/proc/${tgid}`),
  low16: () => ReadonlySet<number> = liveLow16,
): number {
  const seen = new Map<number, boolean>();
  let lows: ReadonlySet<number> | undefined;
  let n = 0;
  for (const k of keys) {
    const hi = k.readUInt32LE(4);
    let live: boolean | undefined;
    if (hi >= 0x8000_0000) live = (lows ??= low16()).has((hi >>> 15) & 0xffff);
    else {
      live = seen.get(hi);
      if (live === undefined) seen.set(hi, (live = alive(hi)));
    }
    if (!live) {
      del(k);
      n++;
    }
  }
  return n;
}

/**
 * Starts the http family. Tests only: `hooks` overrides feature detection, `now` the sweep clock.
 */
export function startHttp(
  objDir: string,
  opts: {
    maxCgroups: number;
    maxConnections: number;
    libssl?: readonly string[];
    client?: boolean;
    hooks?: HookKind;
    now?: () => number;
  },
): CounterFamily & { sweep(): number; readonly tls: { libs: string[]; failed: string[] } } {
  const fam = startBpfFamily(
    objDir,
    {
      stem: 'http',
      programs: PROGRAMS,
      maps: {
        http_latency: { keySize: HTTP.keySize, valueSize: HTTP.latencyValueSize },
        http2_frames: { keySize: HTTP.framesKeySize, valueSize: HTTP.framesValueSize },
        http_conns: { keySize: 8, valueSize: HTTP.layouts.http_conn.size },
        http_h2_streams: { keySize: 8, valueSize: HTTP.layouts.http_streams.size },
        http_drops: { keySize: 4, valueSize: 8 },
      },
      dropsMap: 'http_drops',
      open: {
        rodata: { http_client: opts.client ?? false },
        maxEntries: {
          http_latency: opts.maxCgroups,
          http2_frames: opts.maxCgroups,
          http_conns: opts.maxConnections,
          http_h2_streams: opts.maxConnections,
        },
        layouts: { hist: HIST_LAYOUT, ...HTTP.layouts },
        // Without a shared libssl here the uprobe programs are not even loaded.
        disable: existingBinaries(opts.libssl ?? []).length ? [] : TLS_PROGRAMS,
      },
    },
    opts.hooks,
  );
  let tls: { libs: string[]; failed: string[] };
  try {
    tls = attachTls(fam.obj, opts.libssl ?? []);
  } catch (err) {
    fam.close();
    throw err;
  }
  const latency = fam.obj.map('http_latency');
  const frames = fam.obj.map('http2_frames');
  const conns = fam.obj.map('http_conns');
  const streams = fam.obj.map('http_h2_streams');
  const labels = new CgroupLabels();
  const now = opts.now ?? Date.now;
  let lastSweep = now();
  const sweep = (): number =>
    sweepExited(conns.keys(), (k) => {
      conns.delete(k);
      streams.delete(k);
    });
  return {
    name: 'http',
    read(): Reading[] {
      if (now() - lastSweep >= SWEEP_MS) {
        lastSweep = now();
        sweep();
      }
      const out: Reading[] = [];
      latency.forEach((k, v) => pushAll(out, decodeHttpLatencyEntry(k, v, fam.cpus, labels.of)));
      pushAll(out, httpRequestCounters(out));
      frames.forEach((k, v) => pushAll(out, decodeHttp2FramesEntry(k, v, fam.cpus, labels.of)));
      labels.sweep();
      return out;
    },
    sweep,
    tls,
    notes() {
      const lines = [
        tls.libs.length
          ? `HTTPS through uprobes on ${tls.libs.join(', ')}`
          : 'HTTPS not seen: no shared libssl of counters.http_libssl here',
        ...tls.failed.map((f) => `HTTPS not seen through ${f}`),
      ];
      for (const s of staticTlsServers())
        lines.push(`HTTPS not seen for pid ${s.pid} (${s.comm}, ${s.exe}): it links OpenSSL statically`);
      return lines;
    },
    stats: () => fam.stats(),
    close: () => fam.close(),
  };
}

/** Registry entry: name, bpf flag and signals from the descriptor (spec/), and how to start. */
export const http: CounterFactory = {
  ...entryFields(spec),
  start(ctx) {
    return startHttp(ctx.objDir, {
      maxCgroups: ctx.config.counters.max_cgroups,
      maxConnections: ctx.config.counters.http_max_connections,
      libssl: ctx.config.counters.http_libssl,
      client: ctx.config.counters.http_client,
    });
  },
};

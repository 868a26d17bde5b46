/**
 * Benchmark: added cost per HTTP request of the http counter family (bpf/counters/http.bpf.c), next to a bpftrace
 * script doing the same HTTP/1 work (bench/http.bt: request line on read, status line on write/writev, per-cgroup
 * histogram), in one run.
 *
 *   scripts/node bench/http.ts [--rounds 5] [--seconds 5] [--connections 8] [--obj-dir build/bpf] [--protocol grpc]
 *
 * A small Node HTTP/1.1 server (200 "ok", keep-alive) and `wrk -t1 -cN` run in one cpu cgroup of their own; each
 * round runs wrk with nothing attached, with the http family, and with the bpftrace script, rotating the order so
 * drift from other tenants hits all three alike. Per run: CPU of the whole cgroup (server and client: both pay the
 * probes at their syscalls) per request, and wrk's request rate. Reported: medians, the median per-round difference
 * to "off" (µs per request), and the ratio of the two added costs. Then, with BPF run-time statistics on, the
 * in-kernel ns per program run and per request of each. Needs root, wrk and bpftrace.
 *
 * `--protocol grpc`: the same for gRPC over h2c instead, where the family also walks every response header block to
 * mirror the server's HPACK dynamic table (grpc-status): a Node http2 server answering each call with a message and
 * trailers (grpc-status cycling through 0, 14, 5 and a request id), and a Node http2 client making the calls on one
 * connection, N in flight (`--connections`); no bpftrace leg (bench/http.bt reads HTTP/1 only).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { OBJ_DIR as DEFAULT_OBJ_DIR } from '../src/paths.ts';
import { startHttp } from '../src/probes/counters/http.ts';
import { createCgroup } from '../src/demo/cgroup-admin.ts';
import { enableStats } from '../src/probes/libbpf.ts';
import { programIdsOf, progs } from './counters-cost.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '8' },
    'obj-dir': { type: 'string' },
    protocol: { type: 'string', default: 'http1' },
  },
});
const grpc = values.protocol === 'grpc';
if (!grpc && values.protocol !== 'http1') throw new Error(`--protocol ${values.protocol}: expected http1 or grpc`);
const OBJ_DIR = values['obj-dir'] ?? DEFAULT_OBJ_DIR;
const rounds = Number(values.rounds),
  seconds = Number(values.seconds),
  connections = Number(values.connections);
const SCRIPT = join(import.meta.dirname, 'http.bt');
const SERVER = `
const http = require('node:http');
const s = http.createServer((req, res) => res.end('ok'));
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`;
const GRPC_SERVER = `
const http2 = require('node:http2');
const codes = ['0', '14', '0', '5'];
let n = 0;
const s = http2.createServer();
s.on('stream', (st) => {
  st.resume();
  st.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  st.on('wantTrailers', () => st.sendTrailers({ 'grpc-status': codes[n++ % 4], 'x-request-id': String(n) }));
  st.end(Buffer.alloc(5));
});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`;
/** The gRPC load: argv port, seconds, calls in flight; prints the calls made. Starts on a line on stdin. */
const GRPC_CLIENT = `
const http2 = require('node:http2');
const [port, secs, inflight] = process.argv.slice(1).map(Number);
process.stdin.once('data', () => {
  const c = http2.connect('http://127.0.0.1:' + port);
  const until = Date.now() + secs * 1000;
  let calls = 0;
  const one = () => new Promise((res, rej) => {
    const r = c.request({ ':path': '/bench.Svc/Call', ':method': 'POST', 'content-type': 'application/grpc' });
    r.on('trailers', () => {});
    r.resume();
    r.on('end', () => { calls++; res(); });
    r.on('error', rej);
    r.end(Buffer.alloc(5));
  });
  const lane = async () => { while (Date.now() < until) await one(); };
  Promise.all(Array.from({ length: inflight }, lane)).then(() => { console.log(calls); c.close(); });
});
`;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const cg = createCgroup({ name: `tripline-bench-http-${process.pid}` });
const usageFile = [...cg.dirs.map((d) => join(d, 'cpuacct.usage')), ...cg.dirs.map((d) => join(d, 'cpu.stat'))].find(
  (f) => existsSync(f),
);
if (!usageFile) throw new Error('no cpuacct.usage or cpu.stat for the bench cgroup');
/** CPU time of the cgroup so far, ns. */
const usage = (): number => {
  const text = readFileSync(usageFile, 'utf8');
  if (usageFile.endsWith('cpuacct.usage')) return Number(text);
  return Number(/usage_usec (\d+)/.exec(text)![1]) * 1000;
};
let server: ChildProcess | undefined;

try {
  server = spawn(process.execPath, ['-e', grpc ? GRPC_SERVER : SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  cg.addPid(server.pid!);
  const [line] = (await once(createInterface({ input: server.stdout! }), 'line')) as [string];
  const url = `http://127.0.0.1:${Number(line)}/`;

  /** One gRPC load run inside the cgroup: CPU ns of the cgroup per call, calls per second. */
  const runGrpc = async (secs: number): Promise<{ cpuNs: number; rps: number; requests: number }> => {
    const port = new URL(url).port;
    const client = spawn(process.execPath, ['-e', GRPC_CLIENT, port, String(secs), String(connections)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    cg.addPid(client.pid!);
    let out = '';
    client.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const before = usage();
    client.stdin!.end('\n');
    await once(client, 'exit');
    const cpu = usage() - before;
    const n = Number(out.trim());
    if (!n) throw new Error(`the gRPC load made no calls: ${out}`);
    return { cpuNs: cpu / n, rps: n / secs, requests: n };
  };
  /** One wrk run inside the cgroup: CPU ns of the cgroup per request, requests per second. */
  const run = async (secs: number): Promise<{ cpuNs: number; rps: number; requests: number }> => {
    if (grpc) return runGrpc(secs);
    const wrk = spawn('sh', ['-c', 'read _; exec "$@"', 'sh', 'wrk', '-t1', `-c${connections}`, `-d${secs}s`, url], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    cg.addPid(wrk.pid!);
    let out = '';
    wrk.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const before = usage();
    wrk.stdin!.end('\n');
    await once(wrk, 'exit');
    const cpu = usage() - before;
    const n = /(\d+) requests in/.exec(out);
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
    if (!n || !rps) throw new Error(`wrk output without a request count: ${out}`);
    return { cpuNs: cpu / Number(n[1]), rps: Number(rps[1]), requests: Number(n[1]) };
  };
  /** Runs `fn` with the family attached; its cost only counts if it timed the requests `fn` made (it fails else). */
  const withFamily = async <T extends { requests: number }>(fn: () => Promise<T>): Promise<T> => {
    const fam = startHttp(OBJ_DIR, { maxCgroups: 10240, maxConnections: 65536 });
    try {
      const r = await fn();
      await sleep(100); // the last responses' writes
      const seen = fam
        .read()
        .filter((x) => x.signal === 'http_request_duration_seconds' && x.labels.cgroup_id === cg.id)
        .reduce((a, x) => a + (x.kind === 'histogram' ? x.counts.reduce((b, c) => b + c, 0) : 0), 0);
      if (seen < r.requests * 0.95)
        throw new Error(`the http family timed ${seen} of ${r.requests} requests: its cost would be of the wrong path`);
      return r;
    } finally {
      fam.close();
    }
  };
  const withBpftrace = async <T>(fn: (pid: number) => Promise<T>): Promise<T> => {
    const bt = spawn('bpftrace', [SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    bt.stdout.on('data', (d: Buffer) => (out += d.toString()));
    bt.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 60_000;
    while (!out.includes('Attaching')) {
      if (bt.exitCode !== null || Date.now() > deadline) throw new Error(`bpftrace did not attach: ${out}`);
      await sleep(50);
    }
    await sleep(500); // "Attaching" is printed just before the attach
    try {
      return await fn(bt.pid!);
    } finally {
      bt.kill('SIGKILL'); // its map dump at exit is not part of the measurement
      await once(bt, 'exit');
    }
  };

  await run(1); // warm up the server
  type Run = { cpuNs: number; rps: number; requests: number };
  const off: Run[] = [],
    fam: Run[] = [],
    bt: Run[] = [];
  for (let r = 0; r < rounds; r++) {
    const steps = [
      async () => void off.push(await run(seconds)),
      async () => void fam.push(await withFamily(() => run(seconds))),
      ...(grpc ? [] : [async () => void bt.push(await withBpftrace(() => run(seconds)))]),
    ];
    for (let i = 0; i < steps.length; i++) await steps[(i + r) % steps.length]();
  }
  const added = (xs: Run[]) => median(xs.map((x, i) => x.cpuNs - off[i].cpuNs));
  const us = (ns: number) => `${(ns / 1000).toFixed(2)} µs`;
  const signed = (ns: number) => `${ns >= 0 ? '+' : '−'}${us(Math.abs(ns))}`;
  const med = (xs: Run[]) => `${us(median(xs.map((x) => x.cpuNs)))} (${median(xs.map((x) => x.rps)).toFixed(0)} req/s)`;
  console.log(
    `# scripts/node bench/http.ts --rounds ${rounds} --seconds ${seconds} --connections ${connections}${grpc ? ' --protocol grpc' : ''}  (${new Date().toISOString()}, kernel ${execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()}, ${cpus().length} CPUs)`,
  );
  if (grpc)
    console.log(
      `CPU per gRPC call (server + client): off ${med(off)}  http family ${med(fam)} (${signed(added(fam))}; median of per-round differences to off)`,
    );
  else {
    console.log(
      `CPU per request (server + wrk): off ${med(off)}  http family ${med(fam)} (${signed(added(fam))})  bpftrace ${med(bt)} (${signed(added(bt))})`,
    );
    console.log(
      `added per request: http family / bpftrace = ${(added(fam) / added(bt)).toFixed(2)}  (medians over rounds of per-round differences to off)`,
    );
  }

  // In-kernel time, BPF stats on: per program run and per request (the programs run for every process on the host).
  const stats = enableStats();
  try {
    const report = (what: string, ids: ReadonlySet<number>, requests: number) => {
      const ps = progs().filter((p) => ids.has(p.id));
      const ns = ps.reduce((a, p) => a + (p.run_time_ns ?? 0), 0);
      const runs = ps.reduce((a, p) => a + (p.run_cnt ?? 0), 0);
      console.log(
        `in-kernel ${what}: ${(ns / Math.max(1, runs)).toFixed(0)} ns per program run, ${(runs / requests).toFixed(1)} runs and ${(ns / requests).toFixed(0)} ns per request`,
      );
    };
    await withFamily(async () => {
      const r = await run(seconds);
      report('http family', programIdsOf(process.pid), r.requests);
      return r;
    });
    if (!grpc)
      await withBpftrace(async (pid) => {
        const r = await run(seconds);
        report('bpftrace    ', programIdsOf(pid), r.requests);
      });
  } finally {
    stats.close();
  }
} finally {
  server?.kill('SIGKILL');
  await sleep(100);
  cg.destroy();
}

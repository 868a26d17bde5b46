/**
 * Benchmark: trip → deep probes attached, against starting the equivalent bpftrace script; and the CPU cost of a
 * capture of each probe on a busy target.
 *
 *   scripts/node bench/attach.ts [--runs 20] [--bpftrace-runs 20] [--capture-seconds 10] [--skip-cost] [--json]
 *
 * Attach: a probe is prepared ahead (open + load, as the capture manager keeps it), then `start()` — writing the
 * target and attaching — is timed; bpftrace is timed from spawn until it prints "Attaching" (its own marker) for
 * the reference script in ../shared/anchors/ (read at run time). Cost: a `capture-seconds` capture of each probe on
 * a busy target (spinning, system calls, sleeps); CPU = this process's user+system time over start → stop
 * (polling, reading, symbolizing) plus the in-kernel run time of the probe's programs (BPF stats).
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INSTALL_DIR, OBJ_DIR } from '../src/paths.ts';
import { deepProbes } from '../src/probes/deep/index.ts';
import { enableStats } from '../src/probes/libbpf.ts';
import type { DeepProbe, ProbeBudget } from '../src/probes/deep/types.ts';
import { sampleQuantile as pct } from '../src/quantile.ts';

const ANCHORS = join(INSTALL_DIR, '..', 'shared', 'anchors');
/** Each probe and its reference script. */
const PAIRS: readonly [keyof typeof deepProbes, string][] = [
  ['offcpu', 'offcpu_stacks.bt'],
  ['profile', 'profile.bt'],
  ['runqslower', 'runq_latency.bt'],
  ['syscalls', 'syscall_latency.bt'],
  ['tcp', 'tcp_connect_latency.bt'],
];
/** Every catalog probe but those needing what a bench host may lack: a PostgreSQL server (pg), a bpftrace binary. */
const COST_PROBES = (Object.keys(deepProbes) as (keyof typeof deepProbes)[]).filter(
  (n) => n !== 'pg' && n !== 'bpftrace',
);

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const flag = (name: string): boolean => process.argv.includes(`--${name}`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const ctx = { objDir: OBJ_DIR, redact: true, options: {} };
const budget: ProbeBudget = { durationMs: 60_000, maxEvents: 200_000, maxBytes: 16 << 20 };

/** A busy target: spins ~2 ms, makes 2000 cheap system calls, writes and syncs a file, sleeps 1 ms; forever. */
function busyTarget(dir: string): { pid: number; kill(): void } {
  const src = join(dir, 'busy.c');
  writeFileSync(
    src,
    `
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
static void spin(void) { struct timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a); do clock_gettime(CLOCK_MONOTONIC, &b); while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 2000000L); }
int main(int argc, char **argv) { int fd = open(argv[1], O_CREAT | O_WRONLY, 0600); struct timespec ts = {0, 1000000};
  for (unsigned n = 0;; n++) { spin(); for (int i = 0; i < 2000; i++) getppid(); if (n % 50 == 0) { write(fd, "x", 1); fdatasync(fd); } nanosleep(&ts, 0); } }`,
  );
  execFileSync('cc', ['-O1', '-fno-omit-frame-pointer', '-o', join(dir, 'busy'), src]);
  const child = spawn(join(dir, 'busy'), [join(dir, 'data')], { stdio: 'ignore' });
  return { pid: child.pid!, kill: () => child.kill('SIGKILL') };
}

async function timeAttach(probe: DeepProbe, pid: number, runs: number, prepareMs: number[] = []): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const p0 = process.hrtime.bigint();
    const prepared = probe.prepare(ctx);
    prepareMs.push(Number(process.hrtime.bigint() - p0) / 1e6);
    const t0 = process.hrtime.bigint();
    const running = prepared.start({ pids: [pid] }, budget);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await running.stop();
  }
  return ms;
}

async function timeBpftrace(script: string, pid: number, runs: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const child = spawn('bpftrace', [join(ANCHORS, script), String(pid)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const took = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('Attaching')) resolve(Number(process.hrtime.bigint() - t0) / 1e6);
      });
      child.on('exit', (code) => reject(new Error(`bpftrace ${script} exited (${code}) before attaching: ${out}`)));
    });
    ms.push(took);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r).once('close', r));
  }
  return ms;
}

async function cost(
  name: keyof typeof deepProbes,
  pid: number,
  seconds: number,
): Promise<{ userMs: number; kernelMs: number; events: number; dropped: number }> {
  const probe: DeepProbe = deepProbes[name];
  const prepared = probe.prepare(ctx);
  const stats = enableStats();
  try {
    const c0 = process.cpuUsage();
    const running = prepared.start({ pids: [pid] }, { ...budget, durationMs: seconds * 1000 + 5000 }) as ReturnType<
      typeof prepared.start
    > & { cpuNs?(): number };
    await sleep(seconds * 1000);
    const kernelNs = running.cpuNs?.() ?? 0;
    const r = await running.stop();
    const c = process.cpuUsage(c0);
    return { userMs: (c.user + c.system) / 1000, kernelMs: kernelNs / 1e6, events: r.events, dropped: r.dropped };
  } finally {
    stats.close();
  }
}

async function main(): Promise<void> {
  const runs = arg('runs', 20);
  const btRuns = arg('bpftrace-runs', 20);
  const captureSeconds = arg('capture-seconds', 10);
  const dir = mkdtempSync(join(tmpdir(), 'tripline-bench-'));
  const target = busyTarget(dir);
  const report: Record<string, unknown> = { runs, bpftraceRuns: btRuns, captureSeconds };
  try {
    await sleep(200);
    const attach: Record<string, unknown> = {};
    for (const [name, script] of PAIRS) {
      const prep: number[] = [];
      const t = await timeAttach(deepProbes[name], target.pid, runs, prep);
      // prepare (open + load + verifier) happens ahead of the trip; shown to say what pre-preparing saves.
      const row: Record<string, number | string> = {
        tripP50Ms: pct(t, 0.5),
        tripP99Ms: pct(t, 0.99),
        prepareP50Ms: pct(prep, 0.5),
      };
      if (btRuns > 0 && existsSync(join(ANCHORS, script))) {
        const b = await timeBpftrace(script, target.pid, btRuns);
        Object.assign(row, {
          bpftraceP50Ms: pct(b, 0.5),
          bpftraceP99Ms: pct(b, 0.99),
          speedupP50: pct(b, 0.5) / pct(t, 0.5),
        });
      }
      attach[name] = row;
      if (!flag('json')) console.log(`attach ${name.padEnd(10)} ${JSON.stringify(row)}`);
    }
    report.attach = attach;
    if (!flag('skip-cost')) {
      const costs: Record<string, unknown> = {};
      for (const name of COST_PROBES) {
        const c = await cost(name, target.pid, captureSeconds);
        const row = { ...c, cpuPercentOfOneCore: (100 * (c.userMs + c.kernelMs)) / (captureSeconds * 1000) };
        costs[name] = row;
        if (!flag('json')) console.log(`cost   ${name.padEnd(10)} ${JSON.stringify(row)}`);
      }
      report.cost = costs;
    }
  } finally {
    target.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  if (flag('json')) console.log(JSON.stringify(report, null, 2));
}

await main();

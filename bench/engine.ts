/**
 * What the whole engine costs on a host, side by side in one run: a bare Node process, `tripline run --no-bpf`, and
 * the full engine (all counter families, the bundled rules, both sides of the privilege split) at 10 and at N
 * cgroups (quota'd, under a test parent, each with a process that wakes every 0.5–1.5 s), and under an event storm
 * (a read() loop: > 1 M traced events per second).
 *   scripts/node bench/engine.ts [--rounds 3] [--seconds 30] [--warmup 10] [--cgroups 1000] [--only 'NAME;...']
 *                                [--node-flags '--max-semi-space-size=1']   (V8 flags for the tripline processes)
 * Per configuration, the median over rounds of: CPU in % of one core summed over every thread of every tripline
 * process (from /proc, so V8's GC and compiler threads count), RSS and PSS summed over them, startup to "tripline
 * running", tick time p50/p99 (the engine's histogram), GC seconds per minute (the engine's counter) and, under
 * BPF, the in-kernel cost per event of tripline's programs (run-time stats on during the window).
 * Needs root, a C compiler and the BPF objects (scripts/build-bpf).
 */
import { parseArgs } from 'node:util';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { INSTALL_DIR } from '../src/paths.ts';
import { enableStats } from '../src/probes/libbpf.ts';
import { median } from './counters-workloads.ts';
import { costBetween, programIdsOf, progs } from './counters-cost.ts';
import { prepareLoad } from './engine-load.ts';
import { cpuSeconds, memory, processTree, quantileBetween } from './engine-measure.ts';
import { parseProm, samplesOf, type PromFamily } from '../test/support/prom-parse.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '10' },
    cgroups: { type: 'string', default: '1000' },
    only: { type: 'string' },
    'node-flags': { type: 'string' },
  },
});
const ROUNDS = Number(args.rounds),
  WINDOW = Number(args.seconds),
  WARMUP = Number(args.warmup),
  MANY = Number(args.cgroups);
if (process.geteuid?.() !== 0) throw new Error('run as root (loads BPF programs, makes cgroups)');

interface Figures {
  cpu: number; // % of one core
  rss: number; // MB
  pss: number; // MB
  startup: number; // s
  tickP50?: number; // ms
  tickP99?: number; // ms
  gcPerMin?: number; // s per minute
  events?: number; // traced events per second (tripline's programs)
  nsPerEvent?: Map<string, number>;
  kernelCpu?: number; // % of one core in tripline's programs
}

const bin = join(INSTALL_DIR, 'bin', 'tripline');
const node = join(INSTALL_DIR, 'scripts', 'node');

/** Starts a configuration; resolves with its process and the time to "running", and its /metrics port. */
async function start(
  kind: 'bare' | 'no-bpf' | 'full',
  dataDir: string,
): Promise<{
  child: ChildProcess;
  startup: number;
  port?: number;
}> {
  const t0 = performance.now();
  if (kind === 'bare') {
    const child = spawn(node, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await sleep(200);
    return { child, startup: (performance.now() - t0) / 1000 };
  }
  const cfg = join(dataDir, 'tripline.yaml');
  writeFileSync(cfg, `listen: 127.0.0.1:0\ndata_dir: ${dataDir}\nrules: [${join(INSTALL_DIR, 'rules')}]\n`);
  const extra = kind === 'no-bpf' ? ['--no-bpf'] : [];
  const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: '', SLACK_BOT_TOKEN: '' };
  if (args['node-flags']) {
    // scripts/node runs $TRIPLINE_NODE when set: a wrapper adding the flags (the network side inherits execArgv).
    const wrapper = join(dataDir, 'node');
    const real = execFileSync(node, ['-p', 'process.execPath'], { encoding: 'utf8' }).trim();
    writeFileSync(wrapper, `#!/bin/sh\nexec ${real} ${args['node-flags']} "$@"\n`, { mode: 0o755 });
    env.TRIPLINE_NODE = wrapper;
  }
  const child = spawn(bin, ['run', '--config', cfg, ...extra], {
    cwd: INSTALL_DIR,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tripline run did not start in 60 s:\n${err}`)), 60_000);
    child.stderr!.on('data', (d) => {
      err += d;
      if (err.length > 1e6) err = err.slice(-1e5);
      const m = /"listen":"127\.0\.0\.1:(\d+)"[^\n]*"msg":"tripline running"/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, startup: (performance.now() - t0) / 1000, port: Number(m[1]) });
      }
    });
    child.once('exit', (code) => reject(new Error(`tripline run exited ${code}:\n${err.slice(-4000)}`)));
  });
}

async function scrape(port: number): Promise<Map<string, PromFamily>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  return parseProm(await res.text());
}

/** One configuration for one round. */
async function measure(kind: 'bare' | 'no-bpf' | 'full'): Promise<Figures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tripline-bench-engine-data-'));
  const { child, startup, port } = await start(kind, dataDir);
  try {
    await sleep(WARMUP * 1000);
    const pids0 = processTree(child.pid!);
    const cpu0 = cpuSeconds(pids0);
    const m0 = port ? await scrape(port) : undefined;
    const stats = kind === 'full' ? enableStats() : undefined;
    const mine = new Set(stats ? programIdsOf(child.pid!) : []); // this engine's programs, not other copies'
    const progs0 = stats ? progs() : undefined;
    const t0 = performance.now();
    const rss: number[] = [],
      pss: number[] = [];
    for (let s = 0; s < WINDOW; s += 5) {
      await sleep(Math.min(5, WINDOW - s) * 1000);
      const m = memory(processTree(child.pid!));
      rss.push(m.rss / 1e6);
      pss.push(m.pss / 1e6);
    }
    const progs1 = stats ? progs() : undefined;
    stats?.close();
    const secs = (performance.now() - t0) / 1000;
    const pids1 = processTree(child.pid!);
    const cpu1 = cpuSeconds(pids1);
    const m1 = port ? await scrape(port) : undefined;
    const f: Figures = { cpu: ((cpu1 - cpu0) / secs) * 100, rss: median(rss), pss: median(pss), startup };
    if (m0 && m1) {
      const tick = 'tripline_engine_tick_duration_seconds';
      f.tickP50 = quantileBetween(m0, m1, tick, 0.5) * 1000;
      f.tickP99 = quantileBetween(m0, m1, tick, 0.99) * 1000;
      const gc = (m: Map<string, PromFamily>): number =>
        samplesOf(m, 'tripline_process_gc_seconds_total').reduce((a, x) => a + x.value, 0);
      f.gcPerMin = ((gc(m1) - gc(m0)) / secs) * 60;
    }
    if (progs0 && progs1) {
      // One program per hook: events and in-kernel time follow from the per-hook figures.
      const hooks = costBetween(mine, progs0, progs1);
      const all = [...hooks.values()];
      f.events = all.reduce((a, h) => a + h.events, 0) / secs;
      f.nsPerEvent = new Map([...hooks].map(([h, c]) => [h, c.ns]));
      f.kernelCpu = (all.reduce((a, h) => a + h.ns * h.events, 0) / 1e9 / secs) * 100;
    }
    return f;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const pick = (xs: Figures[], f: (x: Figures) => number | undefined): number => {
  const v = xs.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x));
  return v.length ? median(v) : NaN;
};
const fmt = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '-');

async function main(): Promise<void> {
  // bin/tripline runs dist/ only when it is current: build it, so the figures are those of an installation.
  execFileSync(join(INSTALL_DIR, 'scripts', 'build-js'), { stdio: 'ignore' });
  const load = prepareLoad();
  // Ctrl-C or a kill: the cgroups and their processes go too.
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      load.dispose();
      process.exit(130);
    });
  const results = new Map<string, Figures[]>();
  const only = args.only?.split(';').map((n) => n.trim()); // names hold commas: ';' separates them
  const run = async (name: string, kind: 'bare' | 'no-bpf' | 'full', storm = false): Promise<void> => {
    if (only && !only.includes(name)) return;
    const s = storm ? load.storm(0) : undefined;
    try {
      const f = await measure(kind);
      results.set(name, [...(results.get(name) ?? []), f]);
      process.stderr.write(`  ${name}: ${fmt(f.cpu, 2)} % of a core, ${fmt(f.rss, 0)} MB\n`);
    } finally {
      s?.kill('SIGKILL');
    }
  };
  try {
    const few = load.cgroups(10);
    const sleepers = [await load.sleepers(few)];
    for (let r = 1; r <= ROUNDS; r++) {
      process.stderr.write(`round ${r}/${ROUNDS} at 10 cgroups\n`);
      await run('bare node', 'bare');
      await run('no-bpf, 10 cgroups', 'no-bpf');
      await run('full, 10 cgroups', 'full');
    }
    const more = load.cgroups(MANY - 10);
    for (let i = 0; i < more.length; i += 250) sleepers.push(await load.sleepers(more.slice(i, i + 250)));
    for (let r = 1; r <= ROUNDS; r++) {
      process.stderr.write(`round ${r}/${ROUNDS} at ${MANY} cgroups\n`);
      await run(`no-bpf, ${MANY} cgroups`, 'no-bpf');
      await run(`full, ${MANY} cgroups`, 'full');
      await run(`full, ${MANY} cgroups + storm`, 'full', true);
    }
    for (const s of sleepers) s.kill('SIGKILL');
  } finally {
    load.dispose();
  }
  console.log(
    `engine cost${args['node-flags'] ? ` (node ${args['node-flags']})` : ''}: median of ${ROUNDS} rounds, ${WINDOW} s windows after ${WARMUP} s warm-up; ` +
      `CPU and memory summed over every tripline process and thread`,
  );
  const cols = ['configuration', 'CPU %', 'RSS MB', 'PSS MB', 'start s', 'tick p50', 'tick p99', 'GC s/min'];
  const extra = ['events/s', 'kernel %'];
  console.log([...cols, ...extra].map((c, i) => (i ? c.padStart(9) : c.padEnd(34))).join(''));
  for (const [name, xs] of results) {
    const row = [
      pick(xs, (x) => x.cpu),
      pick(xs, (x) => x.rss),
      pick(xs, (x) => x.pss),
      pick(xs, (x) => x.startup),
      pick(xs, (x) => x.tickP50),
      pick(xs, (x) => x.tickP99),
      pick(xs, (x) => x.gcPerMin),
      pick(xs, (x) => x.events),
      pick(xs, (x) => x.kernelCpu),
    ];
    const d = [2, 0, 0, 2, 2, 2, 3, 0, 2];
    console.log(name.padEnd(34) + row.map((v, i) => fmt(v, d[i]).padStart(9)).join(''));
  }
  for (const [name, xs] of results) {
    const ns = xs.at(-1)?.nsPerEvent;
    if (!ns?.size) continue;
    const hooks = [...ns.keys()].sort();
    const per = hooks.map(
      (h) =>
        `${h} ${fmt(
          pick(xs, (x) => x.nsPerEvent?.get(h)),
          0,
        )}`,
    );
    console.log(`in-kernel ns/event, ${name}: ${per.join(', ')}`);
  }
}

await main();

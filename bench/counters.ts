/**
 * Cost of tripline's always-on BPF counters next to the bpftrace reference scripts, in one run, on the same workloads.
 *   scripts/node bench/counters.ts [--rounds 5] [--reads 1000000] [--pipe-loops 50000] [--connects 2000] [--forks 300]
 * Needs root, bpftrace, perf, clang and a C compiler, and the reference scripts in ../shared/anchors (beside the repo).
 * Configurations: nothing attached / tripline's runq+syscalls+tcp families / bpftrace running runq_latency.bt,
 * syscall_latency.bt and tcp_connect_latency.bt (the same hooks).
 *  1. Rounds: each round runs the workloads under all three configurations back to back, so load from other tenants
 *     hits them alike; medians over rounds. Workloads (bench/counters-workloads.ts, pinned to CPU 0, CPU time per
 *     op): 1-byte read() loop, `perf bench sched pipe`, loopback connect+accept+close, fork+exit+wait.
 *  2. Per-event cost: the workloads once more per configuration with BPF run-time stats on (bench/counters-cost.ts),
 *     as measured and minus the stats floor of an empty program (bench/counters-calibrate.ts).
 */
import { parseArgs } from 'node:util';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildConfig } from '../src/config.ts';
import { INSTALL_DIR, OBJ_DIR as objDir } from '../src/paths.ts';
import { runq } from '../src/probes/counters/runq.ts';
import { syscalls } from '../src/probes/counters/syscalls.ts';
import { tcp } from '../src/probes/counters/tcp.ts';
import type { CounterFamily } from '../src/probes/counters/types.ts';
import { buildLoops, loopNs, median, schedPipeUs } from './counters-workloads.ts';
import { statsFloorNs } from './counters-calibrate.ts';
import { measureCost, programIdsOf, progs, type HookCost } from './counters-cost.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    reads: { type: 'string', default: '1000000' },
    'pipe-loops': { type: 'string', default: '50000' },
    connects: { type: 'string', default: '2000' },
    forks: { type: 'string', default: '300' },
  },
});
const ROUNDS = Number(args.rounds),
  READS = Number(args.reads),
  PIPE = Number(args['pipe-loops']);
const CONNECTS = Number(args.connects),
  FORKS = Number(args.forks);

const anchors = join(INSTALL_DIR, '..', 'shared', 'anchors');
const SCRIPTS = ['runq_latency.bt', 'syscall_latency.bt', 'tcp_connect_latency.bt'];
const CONFIGS = ['nothing', 'tripline', 'bpftrace'] as const;
type ConfigName = (typeof CONFIGS)[number];
const WORKLOADS = ['read() ns/syscall', 'sched pipe us/op', 'connect+close ns/op', 'fork+wait ns/op'] as const;

function preflight(): void {
  if (process.geteuid?.() !== 0) throw new Error('run as root (loads BPF programs)');
  if (!existsSync(anchors))
    throw new Error(
      `reference scripts not found at ${anchors}: the bench reads ../shared/anchors beside the repository`,
    );
  for (const s of SCRIPTS)
    if (!existsSync(join(anchors, s))) throw new Error(`missing reference script ${join(anchors, s)}`);
  for (const [tool, pkg] of [
    ['bpftrace', 'bpftrace'],
    ['perf', 'linux-perf'],
    ['bpftool', 'bpftool'],
    ['taskset', 'util-linux'],
    ['clang', 'clang'],
    ['cc', 'gcc'],
  ]) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} not found: apt-get install -y ${pkg}`);
    }
  }
}

/** Something attached for the length of a measurement. */
interface Attached {
  ids: Set<number>;
  stop(): Promise<void>;
}

async function attachTripline(): Promise<Attached> {
  const config = buildConfig({});
  const fams: CounterFamily[] = [];
  try {
    for (const f of [runq, syscalls, tcp]) fams.push(f.start({ config, objDir }));
  } catch (err) {
    for (const f of fams) f.close();
    throw err;
  }
  // This process's own programs (other processes may run the same families meanwhile).
  const ids = programIdsOf(process.pid);
  return {
    ids,
    async stop() {
      for (const f of fams) f.close();
    },
  };
}

async function attachBpftrace(): Promise<Attached> {
  const children = SCRIPTS.map((s) => spawn('bpftrace', [join(anchors, s)], { stdio: ['ignore', 'pipe', 'ignore'] }));
  const stop = async (): Promise<void> => {
    await Promise.all(
      children.map((c) =>
        c.exitCode !== null || c.signalCode !== null
          ? undefined
          : new Promise<void>((resolve) => {
              c.removeAllListeners('exit');
              c.on('exit', () => resolve());
              c.kill('SIGKILL'); // SIGINT would print every map first
            }),
      ),
    );
  };
  try {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve, reject) => {
            let out = '';
            const t = setTimeout(() => reject(new Error(`bpftrace did not attach within 60 s: ${out}`)), 60_000);
            c.stdout!.on('data', (d: Buffer) => {
              out += d.toString();
              if (/Attaching \d+ probe/.test(out)) {
                clearTimeout(t);
                resolve();
              }
            });
            c.on('exit', (code) => {
              clearTimeout(t);
              reject(new Error(`bpftrace exited (${code}): ${out}`));
            });
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 1000)); // the banner comes just before the attach
  } catch (err) {
    await stop();
    throw err;
  }
  const ids = new Set(children.flatMap((c) => [...programIdsOf(c.pid!)]));
  return { ids, stop };
}

const ATTACH: Record<ConfigName, () => Promise<Attached>> = {
  nothing: async () => ({ ids: new Set(), async stop() {} }),
  tripline: attachTripline,
  bpftrace: attachBpftrace,
};

function workloads(loops: string): number[] {
  return [
    loopNs(loops, 'read', READS),
    schedPipeUs(PIPE),
    loopNs(loops, 'connect', CONNECTS),
    loopNs(loops, 'fork', FORKS),
  ];
}

const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-').padStart(10);
const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-').padStart(7);

async function main(): Promise<void> {
  preflight();
  const loops = buildLoops();
  let current: Attached | undefined;
  try {
    const samples: Record<ConfigName, number[][]> = { nothing: [], tripline: [], bpftrace: [] };
    const foreign = new Set<string>();
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of CONFIGS) {
        process.stderr.write(`round ${r + 1}/${ROUNDS}: ${c}\n`);
        current = await ATTACH[c]();
        // Programs loaded by someone else during the measurement add their cost to every configuration.
        for (const p of progs()) if (!current.ids.has(p.id)) foreign.add(p.name);
        samples[c].push(workloads(loops.path));
        await current.stop();
        current = undefined;
      }
    }
    const load = (): void => {
      workloads(loops.path);
    };
    const cost: Partial<Record<ConfigName, Map<string, HookCost>>> = {};
    for (const c of ['tripline', 'bpftrace'] as const) {
      process.stderr.write(`per-event cost: ${c}\n`);
      current = await ATTACH[c]();
      cost[c] = measureCost(current.ids, load);
      await current.stop();
      current = undefined;
    }
    const floor = statsFloorNs(objDir, () => loopNs(loops.path, 'read', READS));
    console.log(report(samples, cost.tripline!, cost.bpftrace!, floor, foreign));
  } finally {
    await current?.stop();
    loops.dispose();
  }
}

function report(
  samples: Record<ConfigName, number[][]>,
  tl: Map<string, HookCost>,
  bt: Map<string, HookCost>,
  floor: number,
  foreign: Set<string>,
): string {
  const out: string[] = [];
  out.push(`tripline counters (runq, syscalls, tcp) vs bpftrace (${SCRIPTS.join(', ')})`);
  out.push(
    `kernel ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}, ${ROUNDS} rounds, ${new Date().toISOString()}`,
  );
  out.push(`other BPF programs loaded meanwhile: ${foreign.size ? [...foreign].sort().join(', ') : 'none'}`);
  out.push('');
  out.push(
    `per-event in-kernel cost, ns (run_time_ns / run_cnt, summed over the programs on the hook); stats floor ${floor.toFixed(1)} ns per program`,
  );
  out.push(
    `${'hook'.padEnd(22)}${'tripline'.padStart(10)}${'bpftrace'.padStart(10)}${'ratio'.padStart(7)}${'tl-floor'.padStart(10)}${'bt-floor'.padStart(10)}${'ratio'.padStart(7)}  events tl / bt`,
  );
  for (const h of [...new Set([...tl.keys(), ...bt.keys()])].sort()) {
    const a = tl.get(h),
      b = bt.get(h);
    const an = a ? a.ns - floor * a.programs : NaN,
      bn = b ? b.ns - floor * b.programs : NaN;
    out.push(
      `${h.padEnd(22)}${f1(a?.ns ?? NaN)}${f1(b?.ns ?? NaN)}${f2(a && b ? a.ns / b.ns : NaN)}${f1(an)}${f1(bn)}${f2(an / bn)}  ${a?.events ?? '-'} / ${b?.events ?? '-'}`,
    );
  }
  out.push('');
  out.push(
    'workloads, CPU time per op, pinned to CPU 0 (median over rounds; +tl/+bt: median of the per-round differences to nothing)',
  );
  out.push(
    `${'workload'.padEnd(26)}${'nothing'.padStart(10)}${'tripline'.padStart(10)}${'bpftrace'.padStart(10)}${'+tl'.padStart(10)}${'+bt'.padStart(10)}${'ratio'.padStart(7)}`,
  );
  WORKLOADS.forEach((name, w) => {
    const col = (c: ConfigName): number[] => samples[c].map((s) => s[w]);
    const added = (c: ConfigName): number => median(samples[c].map((s, r) => s[w] - samples.nothing[r][w]));
    const at = added('tripline'),
      ab = added('bpftrace');
    out.push(
      `${name.padEnd(26)}${f1(median(col('nothing')))}${f1(median(col('tripline')))}${f1(median(col('bpftrace')))}${f1(at)}${f1(ab)}${f2(at / ab)}`,
    );
  });
  out.push('');
  out.push('ratio = tripline / bpftrace; target <= 0.5 for per-event cost and for added ns per syscall.');
  return out.join('\n');
}

await main();

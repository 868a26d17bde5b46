/**
 * Cost of tripline's always-on BPF counters next to the bpftrace reference scripts and Debian's libbpf-tools, in one
 * run, on the same hooks and workloads.
 *   scripts/node bench/counters.ts [--rounds 5] [--reads 1000000] [--pipe-loops 50000] [--connects 2000] [--forks 300]
 *                                  [--dio-reads 2000] [--block-dir /var/tmp] [--only read,pipe,connect,fork,dio]
 *                                  [--cost-rounds 3]
 * Needs root, bpftrace, libbpf-tools, perf, clang and a C compiler, and the reference scripts in ../shared/anchors
 * (beside the repo). Configurations: nothing attached / tripline's runq+syscalls+tcp+blockio families / bpftrace
 * running runq_latency.bt, syscall_latency.bt and tcp_connect_latency.bt / libbpf-tools runqlat, syscount -L,
 * tcpconnlat and biolatency (bench/counters-attach.ts; a tool that cannot run on this kernel is reported and left out).
 *  1. Rounds: each round runs the workloads under all four configurations back to back, so load from other tenants
 *     hits them alike; medians over rounds. Workloads (bench/counters-workloads.ts, pinned to CPU 0, CPU time per
 *     op): 1-byte read() loop, `perf bench sched pipe`, loopback connect+accept+close, fork+exit+wait, 4 KiB
 *     O_DIRECT reads of a file in --block-dir (skipped, with the reason, when that is not on a block device).
 *  2. Per-event cost: --cost-rounds more rounds with BPF run-time stats on, the three configurations in a rotating
 *     order (bench/counters-cost.ts); per hook the median over those rounds, as measured and minus the stats floor of
 *     an empty program (bench/counters-calibrate.ts, measured each round, median).
 * For a narrower run while working on one program: --only (the workloads to run) and --rounds 0 (per-event cost only).
 */
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { INSTALL_DIR, OBJ_DIR as objDir } from '../src/paths.ts';
import { runq } from '../src/probes/counters/runq.ts';
import { syscalls } from '../src/probes/counters/syscalls.ts';
import { tcp } from '../src/probes/counters/tcp.ts';
import { blockio } from '../src/probes/counters/blockio.ts';
import { blockFile, buildLoops, loopNs, median, schedPipeUs } from './counters-workloads.ts';
import { statsFloorNs } from './counters-calibrate.ts';
import { measureCost, medianCost, progs, type HookCost } from './counters-cost.ts';
import { LIBBPF_TOOLS, attachBpftrace, attachLibbpfTools, attachTripline, type Attached } from './counters-attach.ts';
import { CONFIGS, report, type ConfigName, type Measured } from './counters-report.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    reads: { type: 'string', default: '1000000' },
    'pipe-loops': { type: 'string', default: '50000' },
    connects: { type: 'string', default: '2000' },
    forks: { type: 'string', default: '300' },
    'dio-reads': { type: 'string', default: '2000' },
    'block-dir': { type: 'string', default: '/var/tmp' },
    only: { type: 'string', default: 'read,pipe,connect,fork,dio' },
    'cost-rounds': { type: 'string', default: '3' },
  },
});
const ROUNDS = Number(args.rounds),
  READS = Number(args.reads),
  PIPE = Number(args['pipe-loops']);
const CONNECTS = Number(args.connects),
  FORKS = Number(args.forks),
  DIO = Number(args['dio-reads']),
  COST_ROUNDS = Math.max(1, Number(args['cost-rounds']));

const anchors = join(INSTALL_DIR, '..', 'shared', 'anchors');
const SCRIPTS = ['runq_latency.bt', 'syscall_latency.bt', 'tcp_connect_latency.bt'];
const FAMILIES = [runq, syscalls, tcp, blockio];
const ONLY = new Set(args.only!.split(','));
const WORKLOADS = [
  'read() ns/syscall',
  'sched pipe us/op',
  'connect+close ns/op',
  'fork+wait ns/op',
  'O_DIRECT 4k read ns/op',
] as const;

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
    ['stdbuf', 'coreutils'],
    ['clang', 'clang'],
    ['cc', 'gcc'],
    ...LIBBPF_TOOLS.map((t) => [t.tool, 'libbpf-tools']),
  ]) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} not found (package ${pkg}): apt-get install -y ${pkg}`);
    }
  }
}

async function main(): Promise<void> {
  preflight();
  const loops = buildLoops();
  const disk = blockFile(args['block-dir']!, 64);
  const blockNote =
    'reason' in disk
      ? `not run: ${disk.reason}`
      : `${DIO} x 4 KiB O_DIRECT pread() at random offsets of a 64 MiB file in ${args['block-dir']} (${device(disk.path)})`;
  const libbpfFailed = new Map<string, string>();
  const ATTACH: Record<ConfigName, () => Promise<Attached>> = {
    nothing: async () => ({ ids: new Set(), async stop() {} }),
    tripline: () => attachTripline(FAMILIES, objDir),
    bpftrace: () => attachBpftrace(SCRIPTS.map((s) => join(anchors, s))),
    libbpf: async () => {
      const a = await attachLibbpfTools(LIBBPF_TOOLS);
      for (const [t, why] of a.failed) libbpfFailed.set(t, why);
      return a;
    },
  };
  const run = (name: string, f: () => number): number => (ONLY.has(name) ? f() : NaN);
  const workloads = (): number[] => [
    run('read', () => loopNs(loops.path, 'read', READS)),
    run('pipe', () => schedPipeUs(PIPE)),
    run('connect', () => loopNs(loops.path, 'connect', CONNECTS)),
    run('fork', () => loopNs(loops.path, 'fork', FORKS)),
    run('dio', () => (disk.path ? loopNs(loops.path, 'dio', DIO, { file: disk.path }) : NaN)),
  ];
  let current: Attached | undefined;
  try {
    const samples: Record<ConfigName, number[][]> = { nothing: [], tripline: [], bpftrace: [], libbpf: [] };
    const foreign = new Set<string>();
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of CONFIGS) {
        process.stderr.write(`round ${r + 1}/${ROUNDS}: ${c}\n`);
        current = await ATTACH[c]();
        // Programs loaded by someone else during the measurement add their cost to every configuration.
        for (const p of progs()) if (!current.ids.has(p.id)) foreign.add(p.name);
        samples[c].push(workloads());
        await current.stop();
        current = undefined;
      }
    }
    const costRounds: Record<Measured, Map<string, HookCost>[]> = { tripline: [], bpftrace: [], libbpf: [] };
    const floors: number[] = [];
    const measured = ['tripline', 'bpftrace', 'libbpf'] as const;
    for (let r = 0; r < COST_ROUNDS; r++) {
      for (const c of measured.map((_, i) => measured[(i + r) % measured.length]!)) {
        process.stderr.write(`per-event cost ${r + 1}/${COST_ROUNDS}: ${c}\n`);
        current = await ATTACH[c]();
        costRounds[c].push(measureCost(current.ids, workloads));
        await current.stop();
        current = undefined;
      }
      floors.push(statsFloorNs(objDir, () => loopNs(loops.path, 'read', READS)));
    }
    const cost = {
      tripline: medianCost(costRounds.tripline),
      bpftrace: medianCost(costRounds.bpftrace),
      libbpf: medianCost(costRounds.libbpf),
    };
    const floor = median(floors);
    const ran = LIBBPF_TOOLS.filter((t) => !libbpfFailed.has(t.tool));
    console.log(
      report({
        legend: {
          tripline: `families ${FAMILIES.map((f) => f.name).join(', ')}`,
          bpftrace: SCRIPTS.join(', '),
          libbpf: `libbpf-tools ${ran.map((t) => `${[t.tool, ...t.args].join(' ')} (vs ${t.family})`).join(', ')}`,
        },
        rounds: ROUNDS,
        costRounds: COST_ROUNDS,
        workloads: WORKLOADS,
        samples,
        cost,
        floor,
        foreign,
        libbpfFailed,
        block: blockNote,
      }),
    );
  } finally {
    await current?.stop();
    loops.dispose();
    if (disk.path) disk.dispose();
  }
}

/** The block device a file is on, as `findmnt` names its file system's source. */
function device(path: string): string {
  try {
    return execFileSync('findmnt', ['-n', '-o', 'SOURCE,FSTYPE', '-T', path], { encoding: 'utf8' }).trim();
  } catch {
    return 'device unknown';
  }
}

await main();

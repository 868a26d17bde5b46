/**
 * Benchmark: added cost per query of the pg counter family (two USDT uprobes per query, bpf/counters/pg.bpf.c).
 *
 *   scripts/node bench/pg.ts [--rounds 7] [--queries 20000] [--no-floor] [--obj-dir build/bpf]
 *
 * A throwaway PostgreSQL cluster (owned by nobody, unix socket in a temp dir, postmaster in its own cpu cgroup) runs
 * `pgbench -n -M simple -c 1 -t QUERIES` of `SELECT 1` — one query__start/done pair per query — with the family
 * detached and attached, alternating the order each round so drift from other tenants hits both alike. Per round:
 * server CPU per query (cpuacct.usage of the postmaster's cgroup: the backend, where the uprobes run, is there) and
 * pgbench's average latency per query. A third configuration, empty bpftrace programs on the same two probes, is
 * the floor any USDT tracing pays (uprobe trap and dispatch); `--no-floor` skips it (no bpftrace needed).
 * Reported: medians, the median per-round difference to "off", and the difference of the minimums (load from other
 * tenants only adds time, so the minimum is the least disturbed run). Then one run with
 * BPF run-time statistics on gives the in-kernel time per program run (without the uprobe trap itself, which the
 * CPU figure includes). Needs root, /usr/local/bin/postgres with USDT probes and pgbench.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OBJ_DIR as DEFAULT_OBJ_DIR } from '../src/paths.ts';
import { startPg } from '../src/probes/counters/pg.ts';
import { createCgroup } from '../src/demo/cgroup-admin.ts';
import { enableStats } from '../src/probes/libbpf.ts';
import { programIdsOf, progs } from './counters-cost.ts';
import { PG_BIN, POSTGRES, startPgCluster, type PgCluster } from '../test/support/pg-cluster.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    queries: { type: 'string', default: '20000' },
    'no-floor': { type: 'boolean', default: false },
    'obj-dir': { type: 'string' },
  },
});
/** Where counters/pg.bpf.o is read from (`--obj-dir` compares a variant of the object). */
const OBJ_DIR = values['obj-dir'] ?? DEFAULT_OBJ_DIR;
const rounds = Number(values.rounds),
  queries = Number(values.queries),
  withFloor = !values['no-floor'];
for (const f of [POSTGRES, join(PG_BIN, 'pgbench'), join(PG_BIN, 'initdb'), join(PG_BIN, 'pg_ctl')]) {
  if (!existsSync(f)) throw new Error(`bench/pg.ts needs ${f}`);
}

const cg = createCgroup({ name: `tripline-bench-pg-${process.pid}` });
let pgc: PgCluster | undefined;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

try {
  pgc = startPgCluster('bench-pg');
  const { asNobody, dir } = pgc;
  cg.addPid(pgc.postmaster);
  const cpuacct = cg.dirs.map((d) => join(d, 'cpuacct.usage')).find((f) => existsSync(f));
  if (!cpuacct) throw new Error('no cpuacct.usage for the bench cgroup');
  const select1 = pgc.file('select1.sql', 'SELECT 1;\n');

  /** One pgbench run: server CPU ns per query and pgbench's latency average (ns). */
  const run = (n: number): { cpuNs: number; latencyNs: number } => {
    const before = Number(readFileSync(cpuacct, 'utf8'));
    const out = asNobody(join(PG_BIN, 'pgbench'), [
      '-n',
      '-M',
      'simple',
      '-c',
      '1',
      '-j',
      '1',
      '-t',
      String(n),
      '-f',
      select1,
      '-h',
      dir,
      'postgres',
    ]);
    const cpu = Number(readFileSync(cpuacct, 'utf8')) - before;
    const m = /latency average = ([\d.]+) ms/.exec(out);
    if (!m) throw new Error(`pgbench output without a latency: ${out}`);
    return { cpuNs: cpu / n, latencyNs: Number(m[1]) * 1e6 };
  };
  const withFamily = <T>(fn: () => T): T => {
    const fam = startPg(OBJ_DIR, { binaries: [POSTGRES], maxCgroups: 10240 });
    try {
      return fn();
    } finally {
      fam.close();
    }
  };

  /** The uprobe floor: the same two USDT probes with empty bpftrace programs (trap and dispatch, no work). */
  const withEmptyProbes = async <T>(fn: () => T): Promise<T> => {
    const bt = spawn('bpftrace', ['-e', `usdt:${POSTGRES}:query__start { } usdt:${POSTGRES}:query__done { }`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    bt.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    bt.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const deadline = Date.now() + 60_000;
    while (!out.includes('Attaching')) {
      if (bt.exitCode !== null || Date.now() > deadline) throw new Error(`bpftrace did not attach: ${out}`);
      await sleep(50);
    }
    await sleep(200); // "Attaching" is printed just before the attach
    try {
      return fn();
    } finally {
      bt.kill('SIGINT');
      await once(bt, 'exit');
    }
  };

  run(2000); // warm the server's caches
  type Run = { cpuNs: number; latencyNs: number };
  const off: Run[] = [],
    on: Run[] = [],
    floor: Run[] = [];
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round so drift from other tenants hits all three alike.
    const steps = [
      () => {
        off.push(run(queries));
      },
      () => {
        on.push(withFamily(() => run(queries)));
      },
      async () => {
        if (withFloor) floor.push(await withEmptyProbes(() => run(queries)));
      },
    ];
    for (let i = 0; i < steps.length; i++) await steps[(i + r) % steps.length]();
  }
  const fmt = (ns: number) => `${(ns / 1000).toFixed(2)} µs`;
  const signed = (ns: number) => `${ns >= 0 ? '+' : '−'}${fmt(Math.abs(ns))}`;
  const diff = (xs: Run[], k: keyof Run) =>
    `${signed(median(xs.map((x, i) => x[k] - off[i][k])))}, min ${signed(Math.min(...xs.map((x) => x[k])) - Math.min(...off.map((x) => x[k])))}`;
  const med = (xs: Run[], k: keyof Run) => fmt(median(xs.map((x) => x[k])));
  console.log(
    `# scripts/node bench/pg.ts --rounds ${rounds} --queries ${queries}${withFloor ? '' : ' --no-floor'}  (${new Date().toISOString()}, kernel ${execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()}, ${cpus().length} CPUs)`,
  );
  for (const k of ['cpuNs', 'latencyNs'] as const) {
    const what = k === 'cpuNs' ? 'server CPU per query' : 'latency per query   ';
    console.log(
      `${what}: off ${med(off, k)}  pg family ${med(on, k)} (${diff(on, k)})` +
        (withFloor ? `  empty bpftrace probes ${med(floor, k)} (${diff(floor, k)})` : ''),
    );
  }
  console.log(
    '(medians over rounds; added = median of per-round differences to off, and difference of the minimums: other tenants only add time)',
  );

  const stats = enableStats();
  try {
    const fam = startPg(OBJ_DIR, { binaries: [POSTGRES], maxCgroups: 10240 });
    try {
      run(queries);
      // Each program runs once per query; stats add two clock reads per run (an empty program measures ~46 ns here).
      const held = programIdsOf(process.pid);
      const per = progs()
        .filter((p) => held.has(p.id) && p.name.startsWith('tlc_pg_'))
        .map(
          (p) => `${p.name} ${((p.run_time_ns ?? 0) / Math.max(1, p.run_cnt ?? 0)).toFixed(0)} ns × ${p.run_cnt ?? 0}`,
        );
      const st = fam.stats();
      console.log(`in-kernel (BPF stats): ${per.join(', ')}; ${(st.runTimeNs! / queries).toFixed(0)} ns per query`);
    } finally {
      fam.close();
    }
  } finally {
    stats.close();
  }
} finally {
  pgc?.stop();
  cg.destroy();
}

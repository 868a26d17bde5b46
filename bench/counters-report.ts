/**
 * The printed report of bench/counters.ts: per-event in-kernel cost per hook (tripline, bpftrace, libbpf-tools, as
 * measured and minus the stats floor) and CPU time per workload operation, with the ratios tripline / bpftrace and
 * tripline / libbpf-tools.
 */
import { readFileSync } from 'node:fs';
import type { HookCost } from './counters-cost.ts';
import { median } from './counters-workloads.ts';

export const CONFIGS = ['nothing', 'tripline', 'bpftrace', 'libbpf'] as const;
export type ConfigName = (typeof CONFIGS)[number];
export type Measured = Exclude<ConfigName, 'nothing'>;

export interface ReportInput {
  /** What ran in each configuration, one line each. */
  legend: Record<Measured, string>;
  rounds: number;
  costRounds: number;
  /** Workload names, in the order of each sample's figures. */
  workloads: readonly string[];
  /** samples[config][round][workload]; NaN where a workload did not run. */
  samples: Record<ConfigName, number[][]>;
  cost: Record<Measured, Map<string, HookCost>>;
  floor: number;
  foreign: Set<string>;
  /** libbpf-tools that could not run here: tool → reason. */
  libbpfFailed: Map<string, string>;
  /** What the block workload used, or why it did not run. */
  block: string;
}

const num = (x: number, digits: number, width: number): string =>
  (Number.isFinite(x) ? x.toFixed(digits) : '-').padStart(width);
const f1 = (x: number): string => num(x, 1, 9);
const f2 = (x: number): string => num(x, 2, 7);

export function report(r: ReportInput): string {
  const out: string[] = [];
  out.push(`tripline counters vs bpftrace and libbpf-tools, same hooks, same workloads`);
  for (const c of ['tripline', 'bpftrace', 'libbpf'] as const) out.push(`  ${c.padEnd(9)} ${r.legend[c]}`);
  for (const [tool, why] of r.libbpfFailed)
    out.push(`  NOT RUN: libbpf-tools ${tool} cannot run on this kernel: ${why}`);
  out.push(`  block workload: ${r.block}`);
  out.push(
    `kernel ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}, ${r.rounds} rounds + ${r.costRounds} per-event cost rounds, ${new Date().toISOString()}`,
  );
  out.push(`other BPF programs loaded meanwhile: ${r.foreign.size ? [...r.foreign].sort().join(', ') : 'none'}`);
  out.push('');
  out.push(...costTable(r));
  out.push('');
  out.push(...workloadTable(r));
  out.push('');
  out.push('tl/bt = tripline / bpftrace (target <= 0.5), tl/lb = tripline / libbpf-tools (target <= 1.0).');
  return out.join('\n');
}

function costTable(r: ReportInput): string[] {
  const { tripline: tl, bpftrace: bt, libbpf: lb } = r.cost;
  const out = [
    `per-event in-kernel cost, ns (run_time_ns / run_cnt, summed over the programs on the hook, median over the cost rounds); stats floor ${r.floor.toFixed(1)} ns per program`,
    `${''.padEnd(22)}${'------------- as measured -------------'}  ${'---------- minus the floor ------------'}`,
    `${'hook'.padEnd(22)}${['tripline', 'bpftrace', 'libbpf'].map((h) => h.padStart(9)).join('')}${'tl/bt'.padStart(7)}${'tl/lb'.padStart(7)}  ${['tripline', 'bpftrace', 'libbpf'].map((h) => h.padStart(9)).join('')}${'tl/bt'.padStart(7)}${'tl/lb'.padStart(7)}  events tl / bt / lb`,
  ];
  for (const h of [...new Set([...tl.keys(), ...bt.keys(), ...lb.keys()])].sort()) {
    const c = [tl.get(h), bt.get(h), lb.get(h)];
    const raw = c.map((x) => x?.ns ?? NaN);
    const net = c.map((x) => (x ? x.ns - r.floor * x.programs : NaN));
    const cols = (v: number[]): string => `${v.map(f1).join('')}${f2(v[0] / v[1])}${f2(v[0] / v[2])}`;
    out.push(`${h.padEnd(22)}${cols(raw)}  ${cols(net)}  ${c.map((x) => x?.events ?? '-').join(' / ')}`);
  }
  return out;
}

function workloadTable(r: ReportInput): string[] {
  const out = [
    'workloads, CPU time per op, pinned to CPU 0 (median over rounds; +tl/+bt/+lb: median of the per-round differences to nothing)',
    `${'workload'.padEnd(26)}${['nothing', 'tripline', 'bpftrace', 'libbpf', '+tl', '+bt', '+lb'].map((h) => h.padStart(9)).join('')}${'tl/bt'.padStart(7)}${'tl/lb'.padStart(7)}`,
  ];
  r.workloads.forEach((name, w) => {
    const col = (c: ConfigName): number => median(r.samples[c].map((s) => s[w]));
    const added = (c: ConfigName): number => median(r.samples[c].map((s, i) => s[w] - r.samples.nothing[i][w]));
    const [at, ab, al] = [added('tripline'), added('bpftrace'), added('libbpf')];
    out.push(
      `${name.padEnd(26)}${[col('nothing'), col('tripline'), col('bpftrace'), col('libbpf'), at, ab, al].map(f1).join('')}${f2(at / ab)}${f2(at / al)}`,
    );
  });
  return out;
}

/**
 * Per-event in-kernel cost of BPF programs, from `bpftool prog show -j` (run_time_ns / run_cnt, counted while BPF
 * run-time stats are on), grouped by the tracepoint they hook. Programs sharing a hook all run on each event, so their
 * per-run costs add up (bpftrace's tcp script puts two programs on inet_sock_set_state).
 */
import { execFileSync } from 'node:child_process';
import { enableStats } from '../src/probes/libbpf.ts';
import { median } from './counters-workloads.ts';

export interface Prog {
  id: number;
  name: string;
  run_time_ns?: number;
  run_cnt?: number;
}
export interface HookCost {
  ns: number;
  events: number;
  programs: number;
}

/** Every loaded program, as bpftool lists it. */
export function progs(): Prog[] {
  return JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' })) as Prog[];
}

/** Ids of the BPF programs a process holds (the tests' helper: program and link fds, read from fdinfo). */
export { programsHeldBy as programIdsOf } from '../test/support/bpf-programs.ts';

/**
 * Hook of a program, from its kernel name (15 characters at most, so a `_raw` twin may be cut): tripline's tlc_*
 * counter programs (bpf/README.md), bpftrace's probe names, or the libbpf-tools' program names (runqlat and bpftrace
 * share `sched_*`, syscount and bpftrace `sys_*`; biolatency's `block_rq_issue_btf` shows as `block_rq_issue_`).
 */
const HOOKS: [RegExp, string][] = [
  [/^(tlc_runq_new|sched_wakeup_ne)/, 'sched_wakeup_new'],
  [/^(tlc_runq_wake|sched_wakeup$)/, 'sched_wakeup'],
  [/^(tlc_runq_switch|sched_switch)/, 'sched_switch'],
  [/^(tlc_sys_enter|sys_enter)/, 'sys_enter'],
  [/^(tlc_sys_exit|sys_exit)/, 'sys_exit'],
  [/^(tlc_tcp_state|inet_sock_set_s)/, 'inet_sock_set_state'],
  [/^tlc_tcp_retrans/, 'tcp_retransmit_skb'],
  [/^(tlc_bio_issue|block_rq_issue)/, 'block_rq_issue'],
  [/^(tlc_bio_done|block_rq_comple)/, 'block_rq_complete'],
];
export const hookOf = (name: string): string => HOOKS.find(([re]) => re.test(name))?.[1] ?? name;

/** Runs `load` with run-time stats on and returns the cost per hook of the programs whose ids are in `ids`. */
export function measureCost(ids: ReadonlySet<number>, load: () => void): Map<string, HookCost> {
  const stats = enableStats();
  let before: Prog[], after: Prog[];
  try {
    before = progs();
    load();
    after = progs();
  } finally {
    stats.close();
  }
  return costBetween(ids, before, after);
}

/** Cost per hook of the programs in `ids` between two listings taken while run-time stats were on. */
export function costBetween(
  ids: ReadonlySet<number>,
  before: readonly Prog[],
  after: readonly Prog[],
): Map<string, HookCost> {
  const was = new Map(before.map((p) => [p.id, p]));
  const out = new Map<string, HookCost>();
  for (const p of after.filter((x) => ids.has(x.id))) {
    const b = was.get(p.id);
    const cnt = (p.run_cnt ?? 0) - (b?.run_cnt ?? 0);
    const ns = (p.run_time_ns ?? 0) - (b?.run_time_ns ?? 0);
    if (cnt <= 0) continue;
    const h = out.get(hookOf(p.name)) ?? { ns: 0, events: 0, programs: 0 };
    out.set(hookOf(p.name), { ns: h.ns + ns / cnt, events: Math.max(h.events, cnt), programs: h.programs + 1 });
  }
  return out;
}

/** Per hook, the median over rounds of the per-event ns and of the events (a hook missing in a round is left out). */
export function medianCost(rounds: readonly Map<string, HookCost>[]): Map<string, HookCost> {
  const out = new Map<string, HookCost>();
  for (const h of new Set(rounds.flatMap((r) => [...r.keys()]))) {
    const seen = rounds.map((r) => r.get(h)).filter((x): x is HookCost => x !== undefined);
    out.set(h, {
      ns: median(seen.map((x) => x.ns)),
      events: median(seen.map((x) => x.events)),
      programs: Math.max(...seen.map((x) => x.programs)),
    });
  }
  return out;
}

/**
 * Deep probes a rule gets when its `capture:` names none, chosen by the signals its conditions watch:
 * CPU and run-queue signals → who took the CPU (runqslower), where the time went (profile, offcpu); latency
 * signals of a subsystem → that subsystem's probe plus offcpu (what the waiting looked like).
 */
import type { ConditionTree } from '../rules/types.ts';

/** Probes per signal name prefix; the first matching entry wins. */
export const DEFAULT_PROBES: readonly (readonly [prefix: string, probes: readonly string[]])[] = [
  ['runq_', ['runqslower', 'profile', 'offcpu']],
  ['cpu_', ['runqslower', 'profile', 'offcpu']],
  ['cgroup_syscall_', ['syscalls', 'offcpu']],
  ['syscall_', ['syscalls', 'offcpu']],
  ['tcp_', ['tcp', 'offcpu']],
  ['blockio_', ['io', 'offcpu']],
  ['pg_', ['pg', 'offcpu']],
];

/** When no signal matches a prefix: on- and off-CPU stacks explain most things. */
export const FALLBACK_PROBES: readonly string[] = ['profile', 'offcpu'];

/** Signal names of a condition tree (numerators and denominators of ratios too). */
export function conditionSignals(tree: ConditionTree): string[] {
  if ('all' in tree) return tree.all.flatMap(conditionSignals);
  if ('any' in tree) return tree.any.flatMap(conditionSignals);
  return tree.ratioTo ? [tree.signal, tree.ratioTo] : [tree.signal];
}

/** Default probes for the signals, in order, without duplicates. */
export function defaultProbes(signals: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of signals) {
    const hit = DEFAULT_PROBES.find(([prefix]) => s.startsWith(prefix));
    for (const p of hit?.[1] ?? FALLBACK_PROBES) if (!out.includes(p)) out.push(p);
  }
  return out.length > 0 ? out : [...FALLBACK_PROBES];
}

/** True when the incident is about CPU (the findings then carry a diagnosis). */
export function isCpuSignal(signal: string): boolean {
  return signal.startsWith('cpu_') || signal.startsWith('runq_');
}

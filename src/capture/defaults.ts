/**
 * Deep probes a capture gets when its rule's `capture:` names none: the per-family table of src/rules/plan.ts
 * (so `tripline test` plans and real captures agree), with on- and off-CPU stacks when no signal has an entry.
 */
import { defaultProbes as planDefaults } from '../rules/plan.ts';
import type { ConditionTree } from '../rules/types.ts';

/** When no signal has defaults: on- and off-CPU stacks explain most things. */
export const FALLBACK_PROBES: readonly string[] = ['profile', 'offcpu'];

/** Signal names of a condition tree (numerators and denominators of ratios too). */
export function conditionSignals(tree: ConditionTree): string[] {
  if ('all' in tree) return tree.all.flatMap(conditionSignals);
  if ('any' in tree) return tree.any.flatMap(conditionSignals);
  return tree.ratioTo ? [tree.signal, tree.ratioTo] : [tree.signal];
}

/** Default probes for the signals, in table order, without duplicates. */
export function defaultProbes(signals: readonly string[]): string[] {
  const out = planDefaults(signals);
  return out.length > 0 ? out : [...FALLBACK_PROBES];
}

/** True when the incident is about CPU (the findings then carry a diagnosis). */
export function isCpuSignal(signal: string): boolean {
  return signal.startsWith('cpu_') || signal.startsWith('runq_');
}

/**
 * The signal catalog: the contract between probes and rules. Each signal has a name (rules use it;
 * Prometheus exports it as `tripline_<name>`), a kind, a base unit and the labels its series carry.
 * Derived from the counter families' descriptors (src/probes/counters/spec/): a family's signals are declared there.
 */
import { FAMILY_SPECS, type FamilySignals } from './probes/counters/spec/index.ts';
import type { SignalDef } from './probes/counters/spec/types.ts';

export { CGROUP_LABELS, CGROUP_NAME_LABELS, type SignalKind, type SignalUnit } from './probes/counters/spec/types.ts';

/** A catalog signal with its name and the family that produces it. */
export interface SignalSpec extends SignalDef {
  readonly name: string;
  /** Counter family that produces it (a module under src/probes/counters/). */
  readonly source: string;
}

/** Name of a catalog signal. */
export type SignalName = keyof FamilySignals & string;

/** Every signal by name, with its family as `source`. */
export const SIGNALS: { readonly [N in SignalName]: Omit<SignalSpec, 'name'> } = Object.freeze(
  Object.fromEntries(
    Object.values(FAMILY_SPECS).flatMap((f) =>
      Object.entries(f.signals as Readonly<Record<string, SignalDef>>).map(([name, s]) => [
        name,
        Object.freeze({ ...s, source: f.name }),
      ]),
    ),
  ),
) as { readonly [N in SignalName]: Omit<SignalSpec, 'name'> };

/** The spec of a signal, or undefined when the catalog has no such name. */
export function signalSpec(name: string): SignalSpec | undefined {
  const s = Object.hasOwn(SIGNALS, name) ? (SIGNALS as Record<string, Omit<SignalSpec, 'name'>>)[name] : undefined;
  return s ? { name, ...s } : undefined;
}

/** Every signal, sorted by name. */
export function allSignals(): SignalSpec[] {
  return Object.keys(SIGNALS)
    .sort()
    .map((n) => signalSpec(n)!);
}

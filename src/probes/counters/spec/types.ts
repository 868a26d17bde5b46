/**
 * What a counter family is, without running it: its signals (kind, unit, labels, help, export range), its default
 * deep probes, its options in the config's `counters:` section and its row in the README's probe catalog.
 * Pure (no libbpf): src/signals.ts, src/config.ts, the rules layer and `tripline check` read these.
 */
import type { z } from 'zod';

/** How a signal accumulates. */
export type SignalKind = 'counter' | 'gauge' | 'histogram';
/** Base units: latencies in seconds, CPU time in seconds, counts as plain numbers. */
export type SignalUnit = 'seconds' | 'count' | 'ratio' | 'bytes';

/**
 * Labels every per-cgroup series carries (src/sampler/cgroup-labels.ts). Empty string when unknown. `cgroup_id` is the
 * series' identity; the others describe it (path, runtime ids, QoS from the path; namespace, pod, container name and
 * workload from the pod directory or the systemd unit) and may arrive later without making it another series.
 */
export const CGROUP_LABELS = [
  'cgroup',
  'cgroup_id',
  'container',
  'container_id',
  'namespace',
  'pod',
  'pod_uid',
  'qos',
  'workload',
] as const;

/** The descriptive part of CGROUP_LABELS: everything but `cgroup_id`, which alone identifies a per-cgroup series. */
export const CGROUP_NAME_LABELS: ReadonlySet<string> = new Set(CGROUP_LABELS.filter((l) => l !== 'cgroup_id'));

/** One signal of a family (its name is the key in `FamilySpec.signals`). */
export interface SignalDef {
  readonly kind: SignalKind;
  readonly unit: SignalUnit;
  readonly labels: readonly string[];
  readonly help: string;
  /** Histograms: the range (seconds) worth resolving in /metrics' at most 16 buckets (src/metrics/fold-buckets.ts). */
  readonly range?: readonly [number, number];
  /**
   * Host-wide signals: their per-cgroup twin, a per-cgroup counter of what each cgroup contributed (slow calls, bytes). A trip of a series
   * without a cgroup captures the twin's top contributors during the incident's window (src/rules/contributors.ts).
   */
  readonly twin?: string;
}

/** A counter family's pure descriptor: `src/probes/counters/spec/<name>.ts`, one line in spec/index.ts. */
export interface FamilySpec {
  /** Registry key, module stem and BPF object stem. */
  readonly name: string;
  /** True when it needs BPF (false: file-based, kept with --no-bpf). */
  readonly bpf: boolean;
  /** Signals (catalog names) it produces. */
  readonly signals: Readonly<Record<string, SignalDef>>;
  /** Deep probes a capture attaches when a rule on one of its signals names none, in this order. */
  readonly defaultProbes: readonly string[];
  /** Its own keys of the config's `counters:` section (zod fields with defaults; shared keys live in config.ts). */
  readonly config: Readonly<Record<string, z.ZodType>>;
  /** Its row of the README probe catalog: the hooks cell, and the signals cell (which names every signal). */
  readonly doc: { readonly hooks: string; readonly signals: string };
}

/** The runtime entry's descriptive fields (name, bpf, signal names), taken from the spec so they cannot drift. */
export function entryFields(spec: FamilySpec): { name: string; bpf: boolean; signals: string[] } {
  return { name: spec.name, bpf: spec.bpf, signals: Object.keys(spec.signals) };
}

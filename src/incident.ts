/** Incidents: what a rule emits when a series trips (status firing) and when it resolves. Input of capture and actions. */
import type { Labels } from './samples.ts';

export type Severity = 'info' | 'warning' | 'critical';

/** What a capture and the actions aim at: the offending cgroup and/or processes. */
export interface IncidentTarget {
  /** Kernel cgroup id (inode of the cgroup directory) as a decimal string; the cpu controller's cgroup. */
  readonly cgroupId?: string;
  /** Path relative to the cgroup mount, e.g. `/kubepods/burstable/pod<uid>/<container>`. */
  readonly cgroupPath?: string;
  readonly pids?: readonly number[];
  /** Container name in its pod (`app`), from the pod directory. */
  readonly container?: string;
  /** Runtime id of the container (64 hex), from the cgroup path. */
  readonly containerId?: string;
  /** `Kind/name` of the pod's controller (`Deployment/web`, in the pod's namespace), or a systemd unit. */
  readonly workload?: string;
  readonly pod?: { readonly uid: string; readonly qos?: string; readonly name?: string; readonly namespace?: string };
}

export interface Incident {
  /** Unique per trip: `<key hash>-<fired at ms>`. */
  readonly id: string;
  /** Stable for the series: rule name + sorted series labels (see incidentKey). Idempotency key of every action. */
  readonly key: string;
  readonly rule: string;
  readonly status: 'firing' | 'resolved';
  readonly severity: Severity;
  /** The series labels (group_by labels) plus the rule's own labels. */
  readonly labels: Labels;
  /** Rendered annotation templates (summary, description, ...). */
  readonly annotations: Readonly<Record<string, string>>;
  readonly target: IncidentTarget;
  /** Observed value of the (first) condition, in the signal's base unit, and the threshold it crossed. */
  readonly value: number;
  readonly threshold: number;
  readonly unit: string;
  /** Statistics of the window at the trip, e.g. `{ "p99": 0.012, "rate": 31.5 }`, per condition `c0.p99`, ... */
  readonly stats: Readonly<Record<string, number>>;
  /** ISO timestamps: condition first true (pending), firing, resolved. */
  readonly startsAt: string;
  readonly firedAt: string;
  readonly resolvedAt?: string;
  /** Set for synthetic incidents (`tripline actions fire`): actions mark their output as a test. */
  readonly test?: boolean;
  /** Host that saw it (config `host`: NODE_NAME, else the host name). */
  readonly host: string;
}

/** The stable key of a series of a rule: `rule{label="value",...}` with labels sorted. */
export function incidentKey(rule: string, labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return `${rule}{${keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
}

/**
 * The target's names in one line, as people search for them: `shop/web-7d9f-abcde (Deployment shop/web), container
 * app` for a pod, the unit for a systemd service (`nginx.service`); '' when the target has no names (ids only).
 */
export function targetName(t: IncidentTarget): string {
  const ns = t.pod?.namespace;
  const w = t.workload ?? '';
  const slash = w.indexOf('/');
  let out = '';
  if (t.pod?.name) {
    out = ns ? `${ns}/${t.pod.name}` : t.pod.name;
    if (slash > 0) out += ` (${w.slice(0, slash)} ${ns ? `${ns}/` : ''}${w.slice(slash + 1)})`;
  } else if (w) out = slash > 0 ? `${w.slice(0, slash)} ${ns ? `${ns}/` : ''}${w.slice(slash + 1)}` : w;
  if (t.container) out += out ? `, container ${t.container}` : `container ${t.container}`;
  return out;
}

/**
 * Whether a series is pod-level: it names a pod (non-empty `pod_uid`). A pod is cluster-wide, so its incidents are
 * the same on every host that sees it; anything else (node-level series, system.slice units, plain cgroups) means
 * something only on its host. Keyed on `pod_uid` alone, so renaming or adding other pod labels leaves it as it is.
 */
export function isPodLevel(labels: Labels): boolean {
  return (labels.pod_uid ?? '') !== '';
}

/**
 * The labels that make an incident's key, from a series' group labels (`groupLabels`, the rule's `group_by`), the
 * series' own labels and this engine's host: pod-level series keep their key host-free (the same pod seen by two
 * engines is one incident: one thread, one scale); every other series gets `host`, so two hosts' node-level trips
 * are two incidents.
 */
export function keyLabels(groupLabels: Labels, seriesLabels: Labels, host: string): Record<string, string> {
  if (isPodLevel(seriesLabels)) return { ...groupLabels };
  return { ...groupLabels, host };
}

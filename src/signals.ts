/**
 * The signal catalog: the contract between probes and rules. Each signal has a name (rules use it;
 * Prometheus exports it as `tripline_<name>`), a kind, a base unit and the labels its series carry.
 * Adding a counter family means adding its signals here.
 */

export type SignalKind = 'counter' | 'gauge' | 'histogram';
/** Base units: latencies in seconds, CPU time in seconds, counts as plain numbers. */
export type SignalUnit = 'seconds' | 'count' | 'ratio' | 'bytes';

export interface SignalSpec {
  readonly name: string;
  readonly kind: SignalKind;
  readonly unit: SignalUnit;
  readonly labels: readonly string[];
  readonly help: string;
  /** Counter family that produces it (a module under src/probes/counters/ or a deep probe). */
  readonly source: string;
}

/** Labels every per-cgroup series carries (see src/probes/cgroups.ts). Empty string when unknown. */
export const CGROUP_LABELS = ['cgroup', 'cgroup_id', 'container', 'pod_uid', 'qos'] as const;

const cg = CGROUP_LABELS;

export const SIGNALS = {
  runq_delay_seconds: {
    kind: 'histogram',
    unit: 'seconds',
    labels: cg,
    source: 'runq',
    help: 'Time runnable tasks of the cgroup waited on a run queue before running (wakeup or preemption to running).',
  },
  runq_delay_over_threshold: {
    kind: 'counter',
    unit: 'count',
    labels: cg,
    source: 'runq',
    help: 'Run-queue delays of the cgroup longer than the threshold (default 5 ms): times it was scheduled out too long.',
  },
  syscall_latency_seconds: {
    kind: 'histogram',
    unit: 'seconds',
    labels: ['syscall'],
    source: 'syscalls',
    help: 'Latency of system calls, system-wide, per syscall.',
  },
  cgroup_syscall_latency_seconds: {
    kind: 'histogram',
    unit: 'seconds',
    labels: [...cg, 'syscall'],
    source: 'syscalls',
    help: 'Latency of system calls of watched cgroups or pids, per cgroup and syscall.',
  },
  tcp_connect_latency_seconds: {
    kind: 'histogram',
    unit: 'seconds',
    labels: cg,
    source: 'tcp',
    help: 'TCP active open latency, SYN sent to established, per cgroup of the connecting task.',
  },
  tcp_retransmits: {
    kind: 'counter',
    unit: 'count',
    labels: cg,
    source: 'tcp',
    help: 'TCP segments retransmitted, per cgroup of the socket owner.',
  },
  blockio_latency_seconds: {
    kind: 'histogram',
    unit: 'seconds',
    labels: ['device', 'op'],
    source: 'blockio',
    help: 'Block I/O latency, issue to completion, per device and operation.',
  },
  cpu_periods: {
    kind: 'counter',
    unit: 'count',
    labels: cg,
    source: 'cpustat',
    help: 'CFS enforcement periods elapsed for the cgroup (cpu.stat nr_periods).',
  },
  cpu_throttled_periods: {
    kind: 'counter',
    unit: 'count',
    labels: cg,
    source: 'cpustat',
    help: 'CFS periods in which the cgroup was throttled (cpu.stat nr_throttled).',
  },
  cpu_throttled_seconds: {
    kind: 'counter',
    unit: 'seconds',
    labels: cg,
    source: 'cpustat',
    help: 'Time the cgroup was throttled by its CFS quota (cpu.stat throttled_time / throttled_usec).',
  },
  cpu_usage_seconds: {
    kind: 'counter',
    unit: 'seconds',
    labels: cg,
    source: 'cpustat',
    help: 'CPU time the cgroup used (cpuacct.usage or cpu.stat usage_usec).',
  },
  cpu_quota_cores: {
    kind: 'gauge',
    unit: 'ratio',
    labels: cg,
    source: 'cpustat',
    help: 'CPU limit of the cgroup in cores (quota / period); absent when unlimited.',
  },
  cpu_pressure_some_seconds: {
    kind: 'counter',
    unit: 'seconds',
    labels: cg,
    source: 'psi',
    help: 'PSI: time some runnable tasks of the cgroup (or the node, cgroup="") waited for CPU.',
  },
  cpu_pressure_full_seconds: {
    kind: 'counter',
    unit: 'seconds',
    labels: cg,
    source: 'psi',
    help: 'PSI: time all non-idle tasks of the cgroup (or the node, cgroup="") waited for CPU.',
  },
  pg_query_latency_seconds: {
    kind: 'histogram',
    unit: 'seconds',
    labels: [...cg, 'query_kind'],
    source: 'pg',
    help: 'PostgreSQL query latency per cgroup of the backend and query kind (SELECT, INSERT, UPDATE, DELETE, OTHER), from the USDT query probes.',
  },
} as const satisfies Record<string, Omit<SignalSpec, 'name'>>;

export type SignalName = keyof typeof SIGNALS;

/** The spec of a signal, or undefined when the catalog has no such name. */
export function signalSpec(name: string): SignalSpec | undefined {
  const s = (SIGNALS as Record<string, Omit<SignalSpec, 'name'>>)[name];
  return s ? { name, ...s } : undefined;
}

/** Every signal, sorted by name. */
export function allSignals(): SignalSpec[] {
  return Object.keys(SIGNALS)
    .sort()
    .map((n) => signalSpec(n)!);
}

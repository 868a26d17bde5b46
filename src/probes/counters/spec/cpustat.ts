/** cpustat family (src/probes/counters/cpustat.ts): CFS throttling and CPU usage per cgroup, from files. */
import { CGROUP_LABELS as cg, type FamilySpec } from './types.ts';

/** The cpustat family's descriptor. */
export const cpustat = {
  name: 'cpustat',
  bpf: false,
  signals: {
    cpu_periods: {
      kind: 'counter',
      unit: 'count',
      labels: cg,
      help: 'CFS enforcement periods elapsed for the cgroup (cpu.stat nr_periods).',
    },
    cpu_throttled_periods: {
      kind: 'counter',
      unit: 'count',
      labels: cg,
      help: 'CFS periods in which the cgroup was throttled (cpu.stat nr_throttled).',
    },
    cpu_throttled_seconds: {
      kind: 'counter',
      unit: 'seconds',
      labels: cg,
      help: 'Time the cgroup was throttled by its CFS quota (cpu.stat throttled_time / throttled_usec).',
    },
    cpu_usage_seconds: {
      kind: 'counter',
      unit: 'seconds',
      labels: cg,
      help: 'CPU time the cgroup used (cpuacct.usage or cpu.stat usage_usec).',
    },
    cpu_quota_cores: {
      kind: 'gauge',
      unit: 'ratio',
      labels: cg,
      help: 'CPU limit of the cgroup in cores (quota / period); absent when unlimited.',
    },
  },
  // Throttling asks what the cgroup was doing and what kept it off CPU, like run-queue waits.
  defaultProbes: ['runqslower', 'offcpu', 'profile'],
  config: {},
  doc: {
    hooks: '`cpu.stat`, `cpu.cfs_quota_us`/`cpu.max`, `cpuacct.usage` (file reads, kept with `--no-bpf`)',
    signals: '`cpu_periods`, `cpu_throttled_periods`, `cpu_throttled_seconds`, `cpu_usage_seconds`, `cpu_quota_cores`',
  },
} as const satisfies FamilySpec;

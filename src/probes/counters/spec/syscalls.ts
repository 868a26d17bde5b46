/** syscalls family (src/probes/counters/syscalls.ts): syscall latency system-wide and for watched cgroups/pids. */
import { z } from 'zod';
import { CGROUP_LABELS as cg, type FamilySpec } from './types.ts';

/** The syscalls family's descriptor. */
export const syscalls = {
  name: 'syscalls',
  bpf: true,
  signals: {
    syscall_latency_seconds: {
      kind: 'histogram',
      unit: 'seconds',
      labels: ['syscall'],
      help: 'Latency of system calls, system-wide, per syscall.',
      // Sub-µs for most, up to seconds for blocking ones.
      range: [250e-9, 1.1],
      twin: 'syscall_time_seconds',
    },
    syscall_time_seconds: {
      kind: 'counter',
      unit: 'seconds',
      labels: cg,
      help: "Time the cgroup's tasks spent in system calls, every cgroup: the per-cgroup twin of syscall_latency_seconds.",
    },
    cgroup_syscall_latency_seconds: {
      kind: 'histogram',
      unit: 'seconds',
      labels: [...cg, 'syscall'],
      help: 'Latency of system calls of watched cgroups or pids, per cgroup and syscall.',
      range: [250e-9, 1.1],
    },
  },
  defaultProbes: ['syscalls', 'offcpu'],
  config: {
    /** Pids whose syscalls get per-cgroup histograms. */
    watch_pids: z.array(z.number().int().positive()).default([]),
  },
  doc: {
    hooks: '`raw_syscalls:sys_enter` / `sys_exit`',
    signals:
      '`syscall_latency_seconds`, its per-cgroup twin `syscall_time_seconds`; `cgroup_syscall_latency_seconds` for cgroups/pids on the in-kernel watch list',
  },
} as const satisfies FamilySpec;

/** psi family (src/probes/counters/psi.ts): CPU pressure stall information, node-wide and per cgroup, from files. */
import { CGROUP_LABELS as cg, type FamilySpec } from './types.ts';

/** The psi family's descriptor. */
export const psi = {
  name: 'psi',
  bpf: false,
  signals: {
    cpu_pressure_some_seconds: {
      kind: 'counter',
      unit: 'seconds',
      labels: cg,
      help: 'PSI: time some runnable tasks of the cgroup (or the node, cgroup="") waited for CPU.',
    },
    cpu_pressure_full_seconds: {
      kind: 'counter',
      unit: 'seconds',
      labels: cg,
      help: 'PSI: time all non-idle tasks of the cgroup (or the node, cgroup="") waited for CPU.',
    },
  },
  // CPU pressure asks the same questions as run-queue waits.
  defaultProbes: ['runqslower', 'offcpu', 'profile'],
  config: {},
  doc: {
    hooks: '`/proc/pressure/cpu`, `cpu.pressure` (file reads)',
    signals: '`cpu_pressure_some_seconds`, `cpu_pressure_full_seconds`',
  },
} as const satisfies FamilySpec;

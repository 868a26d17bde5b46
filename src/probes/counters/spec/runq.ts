/** runq family (src/probes/counters/runq.ts): run-queue delay per cpu cgroup. */
import { durationSchema } from '../../../duration.ts';
import { CGROUP_LABELS as cg, type FamilySpec } from './types.ts';

/** The runq family's descriptor. */
export const runq = {
  name: 'runq',
  bpf: true,
  signals: {
    runq_delay_seconds: {
      kind: 'histogram',
      unit: 'seconds',
      labels: cg,
      help: 'Time runnable tasks of the cgroup waited on a run queue before running (wakeup or preemption to running).',
      // A few µs is normal, 5 ms is the default threshold, a second is a stall.
      range: [4e-6, 1.1],
    },
    runq_delay_over_threshold: {
      kind: 'counter',
      unit: 'count',
      labels: cg,
      help: 'Run-queue delays of the cgroup longer than the threshold (default 5 ms): times it was scheduled out too long.',
    },
  },
  // CPU: run-queue waits, throttling and pressure all ask "what was it doing, what kept it off CPU".
  defaultProbes: ['runqslower', 'offcpu', 'profile'],
  config: {
    /** Run-queue delay counted as "over threshold" above this. @defaultValue 5ms */
    runq_threshold: durationSchema.default('5ms'),
  },
  doc: {
    hooks: '`sched_wakeup`, `sched_wakeup_new`, `sched_switch`',
    signals:
      '`runq_delay_seconds`, `runq_delay_over_threshold` (threshold `counters.runq_threshold`, set at load, no recompile)',
  },
} as const satisfies FamilySpec;

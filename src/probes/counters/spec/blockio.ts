/** blockio family (src/probes/counters/blockio.ts): block I/O latency per disk and operation. */
import { CGROUP_LABELS as cg, type FamilySpec } from './types.ts';

/** The blockio family's descriptor. */
export const blockio = {
  name: 'blockio',
  bpf: true,
  signals: {
    blockio_latency_seconds: {
      kind: 'histogram',
      unit: 'seconds',
      labels: ['device', 'op'],
      help: 'Block I/O latency, issue to completion, per device and operation.',
      // Tens of µs on NVMe to seconds on slow disks.
      range: [16e-6, 4.3],
      twin: 'blockio_time_seconds',
    },
    blockio_time_seconds: {
      kind: 'counter',
      unit: 'seconds',
      labels: cg,
      help: 'Time block requests issued by the cgroup were in flight (issue to completion): the per-cgroup twin of blockio_latency_seconds.',
    },
  },
  defaultProbes: ['io', 'offcpu'],
  config: {},
  doc: {
    hooks: '`block_rq_issue`, `block_rq_complete`',
    signals: '`blockio_latency_seconds`, its per-cgroup twin `blockio_time_seconds`',
  },
} as const satisfies FamilySpec;

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
      twin: 'blockio_issued_bytes',
    },
    blockio_issued_bytes: {
      kind: 'counter',
      unit: 'bytes',
      labels: cg,
      help: 'Bytes of block requests the cgroup’s tasks issued (kernel writeback counts under the root): the per-cgroup twin of blockio_latency_seconds.',
    },
  },
  defaultProbes: ['io', 'offcpu'],
  config: {},
  doc: {
    hooks: '`block_rq_issue`, `block_rq_complete`',
    signals: '`blockio_latency_seconds`, its per-cgroup twin `blockio_issued_bytes`',
  },
} as const satisfies FamilySpec;

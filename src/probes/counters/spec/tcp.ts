/** tcp family (src/probes/counters/tcp.ts): active-open latency and retransmits per cpu cgroup. */
import { CGROUP_LABELS as cg, type FamilySpec } from './types.ts';

/** The tcp family's descriptor. */
export const tcp = {
  name: 'tcp',
  bpf: true,
  signals: {
    tcp_connect_latency_seconds: {
      kind: 'histogram',
      unit: 'seconds',
      labels: cg,
      help: 'TCP active open latency, SYN sent to established, per cgroup of the connecting task.',
      // Tens of µs on loopback to seconds on SYN retries.
      range: [16e-6, 4.3],
    },
    tcp_retransmits: {
      kind: 'counter',
      unit: 'count',
      labels: cg,
      help: 'TCP segments retransmitted, per cgroup of the socket owner.',
    },
  },
  defaultProbes: ['tcp'],
  config: {},
  doc: {
    hooks: '`sock:inet_sock_set_state`, `tcp:tcp_retransmit_skb`',
    signals: '`tcp_connect_latency_seconds`, `tcp_retransmits`',
  },
} as const satisfies FamilySpec;

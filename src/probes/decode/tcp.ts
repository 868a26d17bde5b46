/** Decoder of the tcp family's maps (contract: bpf/counters/tcp.h). Pure: bytes in, readings out. */
import type { Reading } from '../counters/types.ts';
import { HIST_SIZE, decodeHist, histBounds, histEmpty } from './hist.ts';
import { expectLength, sumPerCpu } from './percpu.ts';
import { freshCgroupLabels, type CgroupLabelsOf } from './labels.ts';

/** Mirrors bpf/counters/tcp.h. */
export const TCP = {
  unitNs: 1000,
  keySize: 8,
  latencyValueSize: HIST_SIZE,
  retransValueSize: 8,
  socksMax: 65536,
  slots: 65536,
  layouts: { tcp_sock_info: { size: 16, fields: { start_ns: 0, cgroup_id: 8 } } },
} as const;

/** One tcp_connect_latency entry (key: cgroup id) → histogram; [] when empty. */
export function decodeTcpConnectEntry(
  key: Buffer,
  value: Buffer,
  cpus: number,
  labelsOf: CgroupLabelsOf = freshCgroupLabels,
): Reading[] {
  expectLength(key, TCP.keySize, 'tcp_connect_latency key');
  const h = decodeHist(sumPerCpu(value, TCP.latencyValueSize, cpus, 'tcp_connect_latency value'));
  if (histEmpty(h)) return [];
  return [
    {
      kind: 'histogram',
      signal: 'tcp_connect_latency_seconds',
      labels: labelsOf(key, 0),
      bounds: histBounds(TCP.unitNs),
      counts: h.counts,
      sum: (h.sum * TCP.unitNs) / 1e9,
    },
  ];
}

/** One tcp_retransmits entry (key: cgroup id, 0 = owner unknown) → counter. */
export function decodeTcpRetransEntry(
  key: Buffer,
  value: Buffer,
  cpus: number,
  labelsOf: CgroupLabelsOf = freshCgroupLabels,
): Reading[] {
  expectLength(key, TCP.keySize, 'tcp_retransmits key');
  const [n] = sumPerCpu(value, TCP.retransValueSize, cpus, 'tcp_retransmits value');
  return [{ kind: 'counter', signal: 'tcp_retransmits', labels: labelsOf(key, 0), value: n }];
}

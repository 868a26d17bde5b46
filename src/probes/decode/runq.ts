/** Decoder of the runq family's maps (contract: bpf/counters/runq.h). Pure: bytes in, readings out. */
import type { Reading } from '../counters/types.ts';
import { HIST_SIZE, decodeHist, histBounds, histEmpty } from './hist.ts';
import { expectLength, sumPerCpu } from './percpu.ts';
import { freshCgroupLabels, type CgroupLabelsOf } from './labels.ts';

/** Mirrors bpf/counters/runq.h. */
export const RUNQ = {
  unitNs: 1000,
  keySize: 8,
  valueSize: HIST_SIZE + 8,
  layouts: { runq_val: { size: HIST_SIZE + 8, fields: { delay: 0, over: HIST_SIZE } } },
} as const;

/** One runq_delay entry (key: cgroup id, value: per-CPU struct runq_val) → histogram + over-threshold counter. */
export function decodeRunqEntry(
  key: Buffer,
  value: Buffer,
  cpus: number,
  labelsOf: CgroupLabelsOf = freshCgroupLabels,
): Reading[] {
  expectLength(key, RUNQ.keySize, 'runq_delay key');
  const words = sumPerCpu(value, RUNQ.valueSize, cpus, 'runq_delay value');
  const h = decodeHist(words, 0);
  if (histEmpty(h)) return [];
  const labels = labelsOf(key, 0);
  return [
    {
      kind: 'histogram',
      signal: 'runq_delay_seconds',
      labels,
      bounds: histBounds(RUNQ.unitNs),
      counts: h.counts,
      sum: (h.sum * RUNQ.unitNs) / 1e9,
    },
    { kind: 'counter', signal: 'runq_delay_over_threshold', labels, value: words[words.length - 1] },
  ];
}

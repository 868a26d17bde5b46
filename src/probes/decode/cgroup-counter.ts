/**
 * Decoder of the per-cgroup counter maps, the twins of host-wide signals (bpf/counters/syscalls.h
 * cgroup_syscall_slow: slow calls; bpf/counters/blockio.h blockio_cgroup_bytes: bytes): key __u64 cgroup id, value __u64
 * per CPU. Pure: bytes in, readings out.
 */
import type { Reading } from '../counters/types.ts';
import { freshCgroupLabels, type CgroupLabelsOf } from './labels.ts';
import { expectLength, sumPerCpu } from './percpu.ts';

/** Key and value sizes of a per-cgroup counter map. */
export const CGROUP_COUNTER = { keySize: 8, valueSize: 8 } as const;

/** One entry → a counter (the kernel's value times `scale`: 1e-9 for ns → seconds) labelled with the cgroup id; [] when zero. */
export function decodeCgroupCounterEntry(
  signal: string,
  scale: number,
  key: Buffer,
  value: Buffer,
  cpus: number,
  labelsOf: CgroupLabelsOf = freshCgroupLabels,
): Reading[] {
  expectLength(key, CGROUP_COUNTER.keySize, `${signal} key`);
  const [n] = sumPerCpu(value, CGROUP_COUNTER.valueSize, cpus, `${signal} value`);
  if (n === 0) return [];
  return [{ kind: 'counter', signal, labels: labelsOf(key, 0), value: n * scale }];
}

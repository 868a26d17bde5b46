/**
 * Decoder of the per-cgroup time maps, the twins of host-wide signals (bpf/counters/syscalls.h cgroup_syscall_time,
 * bpf/counters/blockio.h blockio_cgroup_time): key __u64 cgroup id, value __u64 ns per CPU. Pure: bytes in, readings out.
 */
import type { Reading } from '../counters/types.ts';
import { freshCgroupLabels, type CgroupLabelsOf } from './labels.ts';
import { expectLength, sumPerCpu } from './percpu.ts';

/** Key and value sizes of a per-cgroup time map. */
export const CGROUP_TIME = { keySize: 8, valueSize: 8 } as const;

/** One entry → a counter of seconds labelled with the cgroup id; [] when still zero. */
export function decodeCgroupTimeEntry(
  signal: string,
  key: Buffer,
  value: Buffer,
  cpus: number,
  labelsOf: CgroupLabelsOf = freshCgroupLabels,
): Reading[] {
  expectLength(key, CGROUP_TIME.keySize, `${signal} key`);
  const [ns] = sumPerCpu(value, CGROUP_TIME.valueSize, cpus, `${signal} value`);
  if (ns === 0) return [];
  return [{ kind: 'counter', signal, labels: labelsOf(key, 0), value: ns / 1e9 }];
}

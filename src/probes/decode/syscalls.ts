/** Decoder of the syscalls family's maps (contract: bpf/counters/syscalls.h). Pure: bytes in, readings out. */
import type { Reading } from '../counters/types.ts';
import { HIST_SIZE, decodeHist, histBounds, histEmpty } from './hist.ts';
import { expectLength, sumPerCpu } from './percpu.ts';

/** Mirrors bpf/counters/syscalls.h. */
export const SYSCALLS = {
  unitNs: 1,
  maxNr: 512,
  keySize: 4,
  cgKeySize: 16,
  valueSize: HIST_SIZE,
  watchMax: 1024,
  layouts: {
    cg_syscall_key: { size: 16, fields: { cgroup_id: 0, nr: 8, pad: 12 } },
    syscall_start: { size: 16, fields: { ts: 0, nr: 8 } },
  },
} as const;

/** One syscall_latency entry (key: __u32 nr) → histogram labelled with the syscall's name; [] when empty. */
export function decodeSyscallEntry(key: Buffer, value: Buffer, cpus: number, name: (nr: number) => string): Reading[] {
  expectLength(key, SYSCALLS.keySize, 'syscall_latency key');
  const h = decodeHist(sumPerCpu(value, SYSCALLS.valueSize, cpus, 'syscall_latency value'));
  if (histEmpty(h)) return [];
  return [
    {
      kind: 'histogram',
      signal: 'syscall_latency_seconds',
      labels: { syscall: name(key.readUInt32LE(0)) },
      bounds: histBounds(SYSCALLS.unitNs),
      counts: h.counts,
      sum: (h.sum * SYSCALLS.unitNs) / 1e9,
    },
  ];
}

/** One cgroup_syscall_latency entry (key: cgroup id, nr) → histogram labelled with cgroup id and syscall. */
export function decodeCgroupSyscallEntry(
  key: Buffer,
  value: Buffer,
  cpus: number,
  name: (nr: number) => string,
): Reading[] {
  expectLength(key, SYSCALLS.cgKeySize, 'cgroup_syscall_latency key');
  const h = decodeHist(sumPerCpu(value, SYSCALLS.valueSize, cpus, 'cgroup_syscall_latency value'));
  if (histEmpty(h)) return [];
  return [
    {
      kind: 'histogram',
      signal: 'cgroup_syscall_latency_seconds',
      labels: { cgroup_id: key.readBigUInt64LE(0).toString(), syscall: name(key.readUInt32LE(8)) },
      bounds: histBounds(SYSCALLS.unitNs),
      counts: h.counts,
      sum: (h.sum * SYSCALLS.unitNs) / 1e9,
    },
  ];
}

/** sizeof(struct syscall_mask): one bit per syscall number below SYSCALLS_MAX_NR. */
export const SYSCALL_MASK_SIZE = 64;

/**
 * The syscall_twin_mask value: bit nr set for each name in `names` that `table` (nr → name) knows. Names this
 * architecture lacks (`open` on arm64) are left out and returned in `unknown`.
 */
export function syscallMask(
  names: readonly string[],
  table: Readonly<Record<number, string>>,
): { mask: Buffer; unknown: string[] } {
  const byName = new Map(Object.entries(table).map(([nr, n]) => [n, Number(nr)]));
  const mask = Buffer.alloc(SYSCALL_MASK_SIZE);
  const unknown: string[] = [];
  for (const n of names) {
    const nr = byName.get(n);
    if (nr === undefined || nr >= SYSCALLS.maxNr) {
      unknown.push(n);
      continue;
    }
    mask[nr >> 3] |= 1 << (nr & 7);
  }
  return { mask, unknown };
}

/** Key of syscall_watch_cg (a cgroup id). */
export function cgroupWatchKey(id: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(id);
  return b;
}

/** Key of syscall_watch_pid (a tgid). */
export function pidWatchKey(pid: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(pid);
  return b;
}

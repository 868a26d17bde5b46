/** syscalls family (src/probes/counters/syscalls.ts): syscall latency system-wide and for watched cgroups/pids. */
import { z } from 'zod';
import { durationSchema } from '../../../duration.ts';
import { CGROUP_LABELS as cg, type FamilySpec } from './types.ts';

/** Default of `counters.syscall_twin_syscalls`: reads, writes, syncs and metadata calls on files. */
const TWIN_SYSCALLS = [
  'read',
  'write',
  'pread64',
  'pwrite64',
  'readv',
  'writev',
  'preadv',
  'pwritev',
  'preadv2',
  'pwritev2',
  'fsync',
  'fdatasync',
  'sync_file_range',
  'syncfs',
  'msync',
  'open',
  'openat',
  'openat2',
  'close',
  'stat',
  'lstat',
  'fstat',
  'newfstatat',
  'statx',
  'getdents64',
  'truncate',
  'ftruncate',
  'fallocate',
  'rename',
  'renameat',
  'renameat2',
  'unlink',
  'unlinkat',
  'mkdir',
  'mkdirat',
  'rmdir',
  'copy_file_range',
  'sendfile',
  'io_submit',
] as const;

/** The syscalls family's descriptor. */
export const syscalls = {
  name: 'syscalls',
  bpf: true,
  signals: {
    syscall_latency_seconds: {
      kind: 'histogram',
      unit: 'seconds',
      labels: ['syscall'],
      help: 'Latency of system calls, system-wide, per syscall.',
      // Sub-µs for most, up to seconds for blocking ones.
      range: [250e-9, 1.1],
      twin: 'syscall_slow_calls',
    },
    syscall_slow_calls: {
      kind: 'counter',
      unit: 'count',
      labels: cg,
      help: "Slow file and storage system calls of the cgroup's tasks (counters.syscall_slow_threshold, counters.syscall_twin_syscalls), every cgroup: the per-cgroup twin of syscall_latency_seconds.",
    },
    cgroup_syscall_latency_seconds: {
      kind: 'histogram',
      unit: 'seconds',
      labels: [...cg, 'syscall'],
      help: 'Latency of system calls of watched cgroups or pids, per cgroup and syscall.',
      range: [250e-9, 1.1],
    },
  },
  defaultProbes: ['syscalls', 'offcpu'],
  config: {
    /** Pids whose syscalls get per-cgroup histograms. */
    watch_pids: z.array(z.number().int().positive()).default([]),
    /** A call at least this long counts in `syscall_slow_calls`. @defaultValue 1ms */
    syscall_slow_threshold: durationSchema.default('1ms'),
    /**
     * The syscalls `syscall_slow_calls` counts: file and storage calls, whose slowness is the host's, not waits that
     * block by design (epoll_wait, futex, nanosleep, poll, wait4), which would rank every idle daemon first. Names
     * this architecture lacks are ignored.
     */
    syscall_twin_syscalls: z
      .array(z.string().regex(/^[a-z0-9_]{1,32}$/))
      .max(512)
      .default([...TWIN_SYSCALLS]),
  },
  doc: {
    hooks: '`raw_syscalls:sys_enter` / `sys_exit`',
    signals:
      '`syscall_latency_seconds`, its per-cgroup twin `syscall_slow_calls`; `cgroup_syscall_latency_seconds` for cgroups/pids on the in-kernel watch list',
  },
} as const satisfies FamilySpec;

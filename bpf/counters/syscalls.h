/* SPDX-License-Identifier: GPL-2.0 */
/* syscalls (counter family): kernel/user contract (bpf/counters/syscalls.bpf.c, src/probes/counters/syscalls.ts). */
#ifndef TRIPLINE_COUNTERS_SYSCALLS_H
#define TRIPLINE_COUNTERS_SYSCALLS_H

#include "hist.h"

/* Histogram unit: nanoseconds (most syscalls take well under a microsecond). */
#define SYSCALLS_UNIT_NS 1

/* Syscall numbers tracked system-wide: 0 .. SYSCALLS_MAX_NR-1 (x86_64 and arm64 stay below 512). */
#define SYSCALLS_MAX_NR 512

/* syscall_latency: PERCPU_ARRAY, key __u32 syscall nr, value struct hist per CPU. */
#define SYSCALLS_KEY_SIZE 4

/* cgroup_syscall_latency: PERCPU_HASH, key struct cg_syscall_key, value struct hist per CPU. */
struct cg_syscall_key {
	__u64 cgroup_id;
	__u32 nr;
	__u32 pad;   /* always 0 */
};
#define CG_SYSCALL_KEY_SIZE 16
_Static_assert(sizeof(struct cg_syscall_key) == CG_SYSCALL_KEY_SIZE, "struct cg_syscall_key size");
#define CG_SYSCALL_MAX 16384

/*
 * cgroup_syscall_slow: PERCPU_HASH, key __u64 cgroup id (the task's cpu cgroup) -> __u64 calls of a twin syscall
 * that took syscall_slow_ns or longer. A count, not a time: one read blocked on a terminal for an hour would
 * outweigh every real contributor as time. Default size; userspace sets it to counters.max_cgroups before load.
 */
#define CG_SYSCALL_SLOW_MAX 10240

/* syscall_twin_mask: ARRAY, key __u32 0 -> struct syscall_mask, bit nr = syscall nr counts in the twin. */
#define SYSCALLS_MASK_WORDS (SYSCALLS_MAX_NR / 64)
struct syscall_mask {
	__u64 bits[SYSCALLS_MASK_WORDS];
};
#define SYSCALL_MASK_SIZE 64
_Static_assert(sizeof(struct syscall_mask) == SYSCALL_MASK_SIZE, "struct syscall_mask size");

/* syscall_watch_cg: HASH __u64 cgroup id -> __u8 1; syscall_watch_pid: HASH __u32 tgid -> __u8 1. */
#define SYSCALLS_WATCH_MAX 1024
/*
 * A task is watched when its cpu cgroup or one of its ancestors up to this many levels above is on the list
 * (a pod's processes live in its containers' child cgroups); the series carries the watched cgroup's id.
 */
#define SYSCALLS_WATCH_DEPTH 4

/* syscall_watch_on: ARRAY, key __u32 0 -> __u32 number of watch entries (0 = skip the watch lookups). */

/* syscall_start (task storage): when the current syscall of the thread started. */
struct syscall_start {
	__u64 ts;    /* ns, 0 = none pending */
	__u32 nr;
	__u32 pad;
};
#define SYSCALL_START_SIZE 16
_Static_assert(sizeof(struct syscall_start) == SYSCALL_START_SIZE, "struct syscall_start size");

/* syscalls_drops: PERCPU_ARRAY 1 x __u64: per-cgroup observations (histograms, slow calls) lost to a full map. */

#endif /* TRIPLINE_COUNTERS_SYSCALLS_H */

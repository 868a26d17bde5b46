/* SPDX-License-Identifier: GPL-2.0 */
/* runq (counter family): kernel/user contract (bpf/counters/runq.bpf.c, src/probes/counters/runq.ts). */
#ifndef TRIPLINE_COUNTERS_RUNQ_H
#define TRIPLINE_COUNTERS_RUNQ_H

#include "hist.h"

/* Histogram unit: microseconds (delays below 1 us land in slot 0). */
#define RUNQ_UNIT_NS 1000

/* runq_delay: key = __u64 cpu cgroup id, value = struct runq_val per CPU. */
#define RUNQ_KEY_SIZE 8
struct runq_val {
	struct hist delay;   /* run-queue delay, RUNQ_UNIT_NS units */
	__u64 over;          /* delays > runq_threshold_ns */
};
#define RUNQ_VAL_SIZE (HIST_SIZE + 8)
_Static_assert(sizeof(struct runq_val) == RUNQ_VAL_SIZE, "struct runq_val size");

/* runq_drops: one __u64 per CPU, key __u32 0: events lost to a full map. */
#define RUNQ_DROPS_VAL_SIZE 8

/* runq_start_pid (raw_tp twins only): key __u32 pid, value __u64 enqueue time (ns). */
#define RUNQ_START_PID_MAX 65536

/*
 * runq_start_new (tp_btf only): ARRAY, slot pid & (RUNQ_START_NEW_SLOTS - 1) -> struct runq_new, a new task woken
 * and not yet run. Kernel-only; pinned by size in test/bpf/spec.test.ts.
 */
#define RUNQ_START_NEW_SLOTS 8192
_Static_assert((RUNQ_START_NEW_SLOTS & (RUNQ_START_NEW_SLOTS - 1)) == 0, "RUNQ_START_NEW_SLOTS: a power of two");
struct runq_new {
	__u32 pid;   /* 0: free */
	__u32 pad;
	__u64 ts;    /* enqueue time (ns) */
};
#define RUNQ_NEW_SIZE 16
_Static_assert(sizeof(struct runq_new) == RUNQ_NEW_SIZE, "struct runq_new size");

#endif /* TRIPLINE_COUNTERS_RUNQ_H */

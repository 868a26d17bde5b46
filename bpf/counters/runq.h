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

/* runq_start_pid (raw_tp twin only): key __u32 pid, value __u64 enqueue time (ns). */
#define RUNQ_START_PID_MAX 65536

#endif /* TRIPLINE_COUNTERS_RUNQ_H */

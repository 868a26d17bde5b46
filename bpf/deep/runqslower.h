/* SPDX-License-Identifier: GPL-2.0 */
/*
 * runqslower (deep probe): kernel/user contract (bpf/deep/runqslower.bpf.c, decoded by
 * src/probes/deep/runqslower.ts).
 */
#ifndef TRIPLINE_DEEP_RUNQSLOWER_H
#define TRIPLINE_DEEP_RUNQSLOWER_H

#define RUNQSLOWER_COMM_LEN 16
#define RUNQSLOWER_MAX_NB 4
#define RUNQSLOWER_NB_SIZE 40
#define RUNQSLOWER_EVENT_SIZE 200

/* A task that held the CPU while the target waited, and for how long within the wait. */
struct runqslower_nb {
	__u32 pid;
	__u32 tgid;
	__u64 cgroup_id;
	__u64 ran_ns;
	char comm[RUNQSLOWER_COMM_LEN];
};

struct runqslower_event {
	__u64 delay_ns;
	__u32 pid;
	__u32 tgid;
	__u32 cpu;
	__u32 nb_count; /* valid entries in nb[] */
	char comm[RUNQSLOWER_COMM_LEN];
	struct runqslower_nb nb[RUNQSLOWER_MAX_NB];
};

#ifdef __bpf__
_Static_assert(sizeof(struct runqslower_nb) == RUNQSLOWER_NB_SIZE, "runqslower_nb layout");
_Static_assert(sizeof(struct runqslower_event) == RUNQSLOWER_EVENT_SIZE, "runqslower_event layout");
#endif
#endif /* TRIPLINE_DEEP_RUNQSLOWER_H */

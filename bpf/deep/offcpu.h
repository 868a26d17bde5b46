/* SPDX-License-Identifier: GPL-2.0 */
/* offcpu (deep probe): kernel/user contract (bpf/deep/offcpu.bpf.c, decoded by src/probes/deep/offcpu.ts). */
#ifndef TRIPLINE_DEEP_OFFCPU_H
#define TRIPLINE_DEEP_OFFCPU_H

#define OFFCPU_COMM_LEN 16
#define OFFCPU_KEY_SIZE 36
#define OFFCPU_VAL_SIZE 16
#define OFFCPU_SPELL_SIZE 40
#define OFFCPU_REASON_BLOCKED 1
#define OFFCPU_REASON_RUNNABLE 2

struct offcpu_key {
	__u32 tgid;
	__u32 pid;
	__s32 kstack; /* id in offcpu_stacks; < 0 = not captured */
	__s32 ustack;
	__u32 reason; /* OFFCPU_REASON_* */
	char comm[OFFCPU_COMM_LEN];
};

struct offcpu_val {
	__u64 total_ns;
	__u64 count;
};

/* A spell in progress (offcpu_start, by tid): read at stop for threads still off CPU. */
struct offcpu_spell {
	__u64 ts;
	__s32 kstack;
	__s32 ustack;
	__u32 reason;
	__u32 tgid;
	char comm[OFFCPU_COMM_LEN];
};

#ifdef __bpf__
_Static_assert(sizeof(struct offcpu_spell) == OFFCPU_SPELL_SIZE, "offcpu_spell layout");
_Static_assert(sizeof(struct offcpu_key) == OFFCPU_KEY_SIZE, "offcpu_key layout");
_Static_assert(sizeof(struct offcpu_val) == OFFCPU_VAL_SIZE, "offcpu_val layout");
#endif
#endif /* TRIPLINE_DEEP_OFFCPU_H */

/* SPDX-License-Identifier: GPL-2.0 */
/* profile (deep probe): kernel/user contract (bpf/deep/profile.bpf.c, decoded by src/probes/deep/profile.ts). */
#ifndef TRIPLINE_DEEP_PROFILE_H
#define TRIPLINE_DEEP_PROFILE_H

#define PROFILE_COMM_LEN 16
#define PROFILE_KEY_SIZE 32

struct profile_key {
	__u32 tgid;
	__u32 pid;
	__s32 kstack; /* id in profile_stacks; < 0 = none (user-only sample or table full) */
	__s32 ustack;
	char comm[PROFILE_COMM_LEN];
};

#ifdef __bpf__
_Static_assert(sizeof(struct profile_key) == PROFILE_KEY_SIZE, "profile_key layout");
#endif
#endif /* TRIPLINE_DEEP_PROFILE_H */

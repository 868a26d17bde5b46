/* SPDX-License-Identifier: GPL-2.0 */
/* syscalls (deep probe): kernel/user contract (bpf/deep/syscalls.bpf.c, decoded by src/probes/deep/syscalls.ts). */
#ifndef TRIPLINE_DEEP_SYSCALLS_H
#define TRIPLINE_DEEP_SYSCALLS_H

#define SYSCALLS_COMM_LEN 16
#define SYSCALLS_PATH_LEN 64
#define SYSCALLS_MAX_ID 512
#define SYSCALLS_TOTAL_SIZE 16
#define SYSCALLS_EVENT_SIZE 144

/* Per-syscall totals, indexed by syscall number (per-CPU array). */
struct syscalls_total {
	__u64 count;
	__u64 total_ns;
};

/* One call over the threshold. */
struct syscalls_event {
	__u64 duration_ns;
	__s64 ret;
	__u64 args[3];
	__u32 id;
	__u32 pid;
	__u32 tgid;
	__u32 has_path; /* 1 = path holds the openat path argument */
	char comm[SYSCALLS_COMM_LEN];
	char path[SYSCALLS_PATH_LEN];
	/* futex waits: the glibc mutex owner (tid) read at entry from the word after the lock (uaddr + 8); 0 if none */
	__u32 holder;
	__u32 pad;
};

#ifdef __bpf__
_Static_assert(sizeof(struct syscalls_total) == SYSCALLS_TOTAL_SIZE, "syscalls_total layout");
_Static_assert(sizeof(struct syscalls_event) == SYSCALLS_EVENT_SIZE, "syscalls_event layout");
#endif
#endif /* TRIPLINE_DEEP_SYSCALLS_H */

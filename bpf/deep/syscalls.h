/* SPDX-License-Identifier: Apache-2.0 */
/* systrace (the `syscalls` deep probe): kernel/user contract (decoded by src/probes/deep/syscalls.ts). */
#ifndef TRIPLINE_SYSTRACE_H
#define TRIPLINE_SYSTRACE_H

#define SYSTRACE_COMM_LEN 16
#define SYSTRACE_PATH_LEN 64
#define SYSTRACE_MAX_ID 512
#define SYSTRACE_TOTAL_SIZE 16
#define SYSTRACE_EVENT_SIZE 136

/* Per-syscall totals, indexed by syscall number (per-CPU array). */
struct systrace_total {
	__u64 count;
	__u64 total_ns;
};

/* One call over the threshold. */
struct systrace_event {
	__u64 duration_ns;
	__s64 ret;
	__u64 args[3];
	__u32 id;
	__u32 pid;
	__u32 tgid;
	__u32 has_path; /* 1 = path holds the openat path argument */
	char comm[SYSTRACE_COMM_LEN];
	char path[SYSTRACE_PATH_LEN];
};

#ifdef __bpf__
_Static_assert(sizeof(struct systrace_total) == SYSTRACE_TOTAL_SIZE, "systrace_total layout");
_Static_assert(sizeof(struct systrace_event) == SYSTRACE_EVENT_SIZE, "systrace_event layout");
#endif
#endif

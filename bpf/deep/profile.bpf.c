// SPDX-License-Identifier: Apache-2.0
/*
 * profile (deep probe): on-CPU stack sampling of the target.
 * Hook:  perf_event, software cpu-clock, one event per CPU at a frequency set by user space (default 99 Hz);
 *        the kernel here has no hardware PMU, and cpu-clock works everywhere.
 * Maps:  profile_stacks STACK_TRACE 127 frames (max 8192)
 *        profile_counts HASH struct profile_key -> __u64 samples (max 8192)
 *        + deep_target / target_pids / deep_stats (deep_target.h)
 * Events: one per sample of a target task (budget: max_events). Cost class: deep (freq × CPUs interrupts/s).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "deep_target.h"
#include "profile.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 8192);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
} profile_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct profile_key);
	__type(value, __u64);
} profile_counts SEC(".maps");

SEC("perf_event")
int profile_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 pid = t->pid;
	// The idle task is never a target; skip it before the map lookups.
	if (!pid || !deep_is_target(t) || !deep_take_event())
		return 0;
	struct profile_key key = {};
	key.tgid = t->tgid;
	key.pid = pid;
	key.kstack = bpf_get_stackid(ctx, &profile_stacks, 0);
	key.ustack = bpf_get_stackid(ctx, &profile_stacks, BPF_F_USER_STACK);
	if ((key.kstack < 0 && key.kstack != -14) || (key.ustack < 0 && key.ustack != -14))
		deep_count(DEEP_STAT_ERRORS); /* -EFAULT = no stack of that kind (kernel thread, user mode); else table full */
	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	__u64 one = 1, *n = bpf_map_lookup_elem(&profile_counts, &key);
	if (n) {
		__sync_fetch_and_add(n, 1);
	} else if (bpf_map_update_elem(&profile_counts, &key, &one, BPF_NOEXIST)) {
		n = bpf_map_lookup_elem(&profile_counts, &key);
		if (n)
			__sync_fetch_and_add(n, 1); /* raced with another CPU */
		else
			deep_count(DEEP_STAT_DROPPED); /* table full */
	}
	return 0;
}

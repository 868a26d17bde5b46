// SPDX-License-Identifier: GPL-2.0
/*
 * profile (deep probe, src/probes/deep/profile.ts): on-CPU stack sampling of the target.
 * Hooks: perf_event tld_prof_sample: software cpu-clock, one event per CPU at a frequency set by userspace
 *        (default 99 Hz); the kernel here has no hardware PMU, and cpu-clock works everywhere.
 * Maps:
 *   profile_stacks  STACK_TRACE 127 frames, 8192
 *   profile_counts  HASH key struct profile_key -> __u64 samples, 8192
 *   + deep_target / target_pids / deep_stats (deep_target.h)
 * Knobs: none (the frequency is the perf event's).
 * Emits: nothing per event; one budget event per sample of a target task (max_events); userspace reads
 *        profile_counts at stop.
 * Cost class: deep (frequency x CPUs interrupts per second).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "maps.h"
#include "deep_target.h"
#include "profile.h"

#define EFAULT 14

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
int tld_prof_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 pid = t->pid;
	struct profile_key key;
	__u64 zero = 0, *n;

	/* The idle task is never a target; skip it before the map lookups. */
	if (!pid || !deep_is_target(t) || !deep_take_event())
		return 0;
	__builtin_memset(&key, 0, sizeof(key)); /* a hash key: comm's bytes after the NUL count too */
	key.tgid = t->tgid;
	key.pid = pid;
	key.kstack = bpf_get_stackid(ctx, &profile_stacks, 0);
	key.ustack = bpf_get_stackid(ctx, &profile_stacks, BPF_F_USER_STACK);
	/* -EFAULT = no stack of that kind (kernel thread, user mode); another error = table full */
	if ((key.kstack < 0 && key.kstack != -EFAULT) || (key.ustack < 0 && key.ustack != -EFAULT))
		deep_count(DEEP_STAT_ERRORS);
	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	n = map_lookup_or_init(&profile_counts, &key, &zero);
	if (!n) {
		deep_count(DEEP_STAT_DROPPED); /* table full */
		return 0;
	}
	__sync_fetch_and_add(n, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

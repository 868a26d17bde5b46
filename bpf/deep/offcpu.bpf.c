// SPDX-License-Identifier: GPL-2.0
/*
 * offcpu (deep probe, src/probes/deep/offcpu.ts): time the target's threads spend off CPU, by kernel + user stack
 * and reason.
 * Hooks: sched_switch as tp_btf tld_off_switch, with a raw_tp twin (userspace loads one).
 *   Stacks are taken at switch-out, when current is still the task going off CPU.
 *   Reason: blocked = switched out voluntarily with a non-zero state (sleep, I/O, lock); runnable = preempted while
 *   runnable (waiting for a CPU).
 * Maps:
 *   offcpu_start   HASH key __u32 tid -> struct offcpu_spell (switch-out ns, stack ids, reason, tgid, comm), 10240;
 *                  userspace also reads it at stop for threads still off CPU
 *   offcpu_stacks  STACK_TRACE 127 frames, 4096
 *   offcpu_ns      HASH key struct offcpu_key -> struct offcpu_val, 8192
 *   + deep_target / target_pids / deep_stats (deep_target.h)
 * Knobs (rodata): min_ns: off-CPU spells shorter than this are not counted.
 * Emits: nothing per event; one budget event per counted spell (max_events); userspace reads offcpu_ns at stop.
 * Cost class: deep (every context switch on the host).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "maps.h"
#include "deep_target.h"
#include "offcpu.h"

const volatile __u64 min_ns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct offcpu_spell);
} offcpu_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 4096);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
} offcpu_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct offcpu_key);
	__type(value, struct offcpu_val);
} offcpu_ns SEC(".maps");

static const struct offcpu_val zero_val;

static __always_inline int on_switch(void *ctx, bool preempt, struct task_struct *prev, struct task_struct *next,
				     unsigned int prev_state)
{
	__u64 now = bpf_ktime_get_ns(), delta;
	__u32 prev_pid = BPF_CORE_READ(prev, pid);
	__u32 next_pid = BPF_CORE_READ(next, pid);
	struct offcpu_spell *s;
	struct offcpu_key key;
	struct offcpu_val *v;

	/* 1. Switch-out of a target thread: remember when, why and where (current is still prev here). */
	if (prev_pid && deep_is_target(prev)) {
		struct offcpu_spell out = {};

		out.ts = now;
		out.tgid = BPF_CORE_READ(prev, tgid);
		BPF_CORE_READ_STR_INTO(&out.comm, prev, comm);
		out.reason = (!preempt && prev_state != 0) ? OFFCPU_REASON_BLOCKED : OFFCPU_REASON_RUNNABLE;
		out.kstack = bpf_get_stackid(ctx, &offcpu_stacks, 0);
		out.ustack = bpf_get_stackid(ctx, &offcpu_stacks, BPF_F_USER_STACK);
		if (out.kstack < 0)
			deep_count(DEEP_STAT_ERRORS); /* stack table full: the spell still counts, unsymbolized */
		bpf_map_update_elem(&offcpu_start, &prev_pid, &out, BPF_ANY);
	}

	/* 2. Switch-in of a thread we saw leave: charge the spell to its stack. */
	s = bpf_map_lookup_elem(&offcpu_start, &next_pid);
	if (!s)
		return 0;
	delta = now - s->ts;
	__builtin_memset(&key, 0, sizeof(key)); /* a hash key: comm's bytes after the NUL count too */
	key.tgid = BPF_CORE_READ(next, tgid);
	key.pid = next_pid;
	key.kstack = s->kstack;
	key.ustack = s->ustack;
	key.reason = s->reason;
	bpf_map_delete_elem(&offcpu_start, &next_pid);
	if (delta < min_ns || !deep_take_event())
		return 0;
	BPF_CORE_READ_STR_INTO(&key.comm, next, comm);
	v = map_lookup_or_init(&offcpu_ns, &key, &zero_val);
	if (!v) {
		deep_count(DEEP_STAT_DROPPED); /* table full */
		return 0;
	}
	__sync_fetch_and_add(&v->total_ns, delta);
	__sync_fetch_and_add(&v->count, 1);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(tld_off_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	return on_switch(ctx, preempt, prev, next, prev_state);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(tld_off_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	return on_switch(ctx, preempt, prev, next, prev_state);
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/*
 * features: tiny programs that tripline loads one at a time to learn what this kernel allows
 * (tp_btf, raw_tp, fentry, kprobe program types), plus a self-test of the probe runtime.
 *
 * Hooks:  tp_btf/sched_switch, raw_tp/sched_switch, fentry/vfs_read, kprobe/vfs_read (feature probes, never attached);
 *         tracepoint raw_syscalls/sys_enter (self-test, attached only by the runtime's own tests and `tripline doctor`).
 * Maps:   tl_selftest_counts (array, key u32 = 0, value u64: getpid-like syscalls seen from target_tgid),
 *         tl_selftest_events (ring buffer, 64 KiB: struct selftest_event per syscall of target_tgid).
 * Knobs:  target_tgid (const volatile u32), syscall_nr (const volatile u32).
 * Cost:   feature probes: none (loaded, verified, closed); self-test: one map update per syscall of one process.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tripline.h"
#include "features.h"

TRIPLINE_EXPORT_TYPE(selftest_event);

const volatile __u32 target_tgid = 0;
const volatile __u32 syscall_nr = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tl_selftest_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} tl_selftest_events SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(tl_feat_tp_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return 0;
}

SEC("raw_tp/sched_switch")
int tl_feat_raw_tp(void *ctx)
{
	return 0;
}

SEC("fentry/vfs_read")
int BPF_PROG(tl_feat_fentry)
{
	return 0;
}

SEC("kprobe/vfs_read")
int tl_feat_kprobe(void *ctx)
{
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_enter")
int tl_selftest(struct trace_event_raw_sys_enter *ctx)
{
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) != target_tgid || ctx->id != syscall_nr)
		return 0;
	__u32 zero = 0;
	__u64 *count = bpf_map_lookup_elem(&tl_selftest_counts, &zero);
	if (count)
		__sync_fetch_and_add(count, 1);
	struct selftest_event *e = bpf_ringbuf_reserve(&tl_selftest_events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->tgid = target_tgid;
	e->syscall = (__u32)ctx->id;
	e->ts_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

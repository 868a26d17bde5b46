// SPDX-License-Identifier: GPL-2.0
/*
 * features (src/probes/features.ts): tiny programs that tripline loads one at a time to learn what this kernel
 * allows (tp_btf, raw_tp, fentry, kprobe program types), plus a self-test of the probe runtime.
 * Hooks:
 *   tp_btf/sched_switch, raw_tp/sched_switch, fentry/vfs_read, kprobe/vfs_read  tlf_tp_btf, tlf_raw_tp, tlf_fentry,
 *     tlf_kprobe: feature probes, never attached (tlf_raw_tp is no twin of tlf_tp_btf: each probes one type)
 *   tp_btf/inet_sock_set_state  tlf_sk_cookie: feature probe, never attached: socket cookies from a tp_btf program
 *     (bpf_get_socket_cookie on a BTF socket, Linux 5.12+; counters/tcp's tp_btf set needs it)
 *   tracepoint raw_syscalls/sys_enter  tlf_selftest: self-test, attached only by the runtime's own tests and
 *     `tripline doctor`
 * Maps:
 *   tl_selftest_counts  ARRAY 1 x __u64: getpid-like syscalls seen from target_tgid
 *   tl_selftest_events  RINGBUF 64 KiB of struct selftest_event, one per syscall of target_tgid
 * Knobs (rodata): target_tgid, syscall_nr.
 * Emits: self-test: one record per syscall_nr call of target_tgid.
 * Cost class: feature probes: none (loaded, verified, closed); self-test: one map update per syscall of one process.
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
int BPF_PROG(tlf_tp_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return 0;
}

SEC("raw_tp/sched_switch")
int tlf_raw_tp(void *ctx)
{
	return 0;
}

SEC("fentry/vfs_read")
int BPF_PROG(tlf_fentry)
{
	return 0;
}

SEC("kprobe/vfs_read")
int tlf_kprobe(void *ctx)
{
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tlf_sk_cookie, struct sock *sk)
{
	return bpf_get_socket_cookie(sk) == 0;
}

SEC("tracepoint/raw_syscalls/sys_enter")
int tlf_selftest(struct trace_event_raw_sys_enter *ctx)
{
	struct selftest_event *e;
	__u32 zero = 0;
	__u64 *count;

	if ((__u32)(bpf_get_current_pid_tgid() >> 32) != target_tgid || ctx->id != syscall_nr)
		return 0;
	count = bpf_map_lookup_elem(&tl_selftest_counts, &zero);
	if (count)
		__sync_fetch_and_add(count, 1);
	e = bpf_ringbuf_reserve(&tl_selftest_events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->tgid = target_tgid;
	e->syscall = (__u32)ctx->id;
	e->ts_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

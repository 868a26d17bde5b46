// SPDX-License-Identifier: GPL-2.0
/*
 * tcp (counter family, src/probes/counters/tcp.ts): TCP active-open latency and retransmits per cpu cgroup.
 * (bpf/deep/tcp.bpf.c is the tcp deep probe.)
 * Hooks (tp_btf, each with a raw_tp twin; userspace loads one set):
 *   sock:inet_sock_set_state  tlc_tcp_state: SYN_SENT: remember start time and the cpu cgroup of the connecting
 *                             task (connect() runs in task context); ESTABLISHED from SYN_SENT: connect latency
 *                             into that cgroup; CLOSE: forget the socket
 *   tcp:tcp_retransmit_skb    tlc_tcp_retrans: +1 for the cgroup recorded at connect; sockets not seen connecting
 *                             (accepted ones) use the socket's cgroup v2 id when tcp_sk_cgroup_v2 is set (cpu
 *                             controller on v2), else cgroup id 0 (unknown)
 * Maps:
 *   tcp_connect_latency  PERCPU_HASH key __u64 cgroup id -> struct hist, max = max_cgroups
 *   tcp_retransmits      PERCPU_HASH key __u64 cgroup id -> __u64, max = max_cgroups
 *   tcp_socks            HASH key __u64 sk -> struct tcp_sock_info, TCP_SOCKS_MAX
 *   tcp_drops            PERCPU_ARRAY 1 x __u64 (maps.h)
 * Knobs (rodata): tcp_sk_cgroup_v2 (0/1).
 * Emits: nothing per event; userspace reads the maps each tick (cumulative).
 * Cost class: always-on (every TCP state change and retransmit on the host).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "maps.h"
#include "hist.h"
#include "cgroup.h"
#include "tcp.h"

#define IPPROTO_TCP 6
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_CLOSE 7

const volatile __u8 tcp_sk_cgroup_v2 = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* memory per key seen, not max_entries x CPUs up front */
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, struct hist);
} tcp_connect_latency SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* memory per key seen, not max_entries x CPUs up front */
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, __u64);
} tcp_retransmits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCP_SOCKS_MAX);
	__type(key, __u64);
	__type(value, struct tcp_sock_info);
} tcp_socks SEC(".maps");

DROPS_MAP(tcp_drops);

static const struct hist zero_hist;

/* Shared body; the caller has checked that a SYN_SENT socket is TCP (reading sk_protocol differs by hook kind). */
static __always_inline void set_state(struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk, delta;
	struct tcp_sock_info *info;
	struct hist *h;

	if (newstate == TCP_SYN_SENT) {
		struct tcp_sock_info v = {
			.start_ns = bpf_ktime_get_ns(),
			.cgroup_id = task_cpu_cgroup_id(bpf_get_current_task_btf(), CGROUP_BTF),
		};
		if (bpf_map_update_elem(&tcp_socks, &key, &v, BPF_ANY))
			count_drop(&tcp_drops);
		return;
	}
	if (newstate == TCP_CLOSE) {
		/* Lookup first: it is lock-free, and most closing sockets (accepted ones) were never tracked. */
		if (bpf_map_lookup_elem(&tcp_socks, &key))
			bpf_map_delete_elem(&tcp_socks, &key);
		return;
	}
	if (newstate != TCP_ESTABLISHED || oldstate != TCP_SYN_SENT)
		return;
	info = bpf_map_lookup_elem(&tcp_socks, &key);
	if (!info || !info->start_ns)
		return;
	delta = bpf_ktime_get_ns() - info->start_ns;
	info->start_ns = 0; /* keep the entry: retransmits are attributed to info->cgroup_id */
	h = map_lookup_or_init(&tcp_connect_latency, &info->cgroup_id, &zero_hist);
	if (!h) {
		count_drop(&tcp_drops);
		return;
	}
	hist_add(h, delta / TCP_UNIT_NS);
}

static __always_inline void retransmit(struct sock *sk)
{
	__u64 key = (__u64)sk, cgid = 0, zero = 0, *n;
	struct tcp_sock_info *info = bpf_map_lookup_elem(&tcp_socks, &key);

	if (info)
		cgid = info->cgroup_id;
	else if (tcp_sk_cgroup_v2)
		cgid = sock_cgroup_v2_id(sk);
	n = map_lookup_or_init(&tcp_retransmits, &cgid, &zero);
	if (!n) {
		count_drop(&tcp_drops);
		return;
	}
	(*n)++;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tlc_tcp_state, struct sock *sk, int oldstate, int newstate)
{
	/* BTF pointer: a direct load instead of a probe-read helper call. */
	if (newstate == TCP_SYN_SENT && sk->sk_protocol != IPPROTO_TCP)
		return 0;
	set_state(sk, oldstate, newstate);
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tlc_tcp_retrans, struct sock *sk)
{
	retransmit(sk);
	return 0;
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(tlc_tcp_state_raw, struct sock *sk, int oldstate, int newstate)
{
	if (newstate == TCP_SYN_SENT && BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	set_state(sk, oldstate, newstate);
	return 0;
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(tlc_tcp_retrans_raw, struct sock *sk)
{
	retransmit(sk);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

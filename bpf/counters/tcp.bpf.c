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
 *   tcp_slots            ARRAY TCP_SLOTS x struct tcp_slot (tcp.h), slot cookie % TCP_SLOTS: connecting sockets
 *                        (tp_btf; 1 slot with the raw_tp twins)
 *   tcp_socks            HASH key __u64 -> struct tcp_sock_info, TCP_SOCKS_MAX: tp_btf: key socket cookie, the
 *                        sockets whose slot another live socket holds; raw_tp twins: key socket address, every one
 *   tcp_socks_used       ARRAY 1 x __u64: entries in tcp_socks (tp_btf)
 *   tcp_drops            PERCPU_ARRAY 1 x __u64 (maps.h)
 * Knobs (rodata): tcp_sk_cgroup_v2 (0/1); tcp_slot_mask (TCP_SLOTS - 1; tests set fewer slots to make sockets
 *   share them).
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
const volatile __u32 tcp_slot_mask = TCP_SLOTS - 1;

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
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TCP_SLOTS);
	__type(key, __u32);
	__type(value, struct tcp_slot);
} tcp_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCP_SOCKS_MAX);
	__type(key, __u64);
	__type(value, struct tcp_sock_info);
} tcp_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tcp_socks_used SEC(".maps");

DROPS_MAP(tcp_drops);

static const struct hist zero_hist;

/* Adds one connect latency to the connecting cgroup's histogram. */
static __always_inline void record_connect(__u64 cgid, __u64 delta_ns)
{
	struct hist *h = map_lookup_or_init(&tcp_connect_latency, &cgid, &zero_hist);

	if (!h) {
		count_drop(&tcp_drops);
		return;
	}
	hist_add(h, hist_div1000(delta_ns)); /* TCP_UNIT_NS */
}

/* ---- tp_btf: sockets by cookie, in a slot of tcp_slots (an inlined array lookup) or else in tcp_socks ---- */

/*
 * A hash keyed by socket measured ~50 ns per connection more here (insert, lookups and delete), and the CLOSE of
 * every socket paid a lookup. A socket's cookie is unique and never reused; the kernel hands cookies out in
 * sequence (per-CPU batches), so live sockets spread over the slots, and one is looked up with an inlined array
 * index. A socket is tracked in its slot, or in tcp_socks when another live socket holds the slot (a connection
 * that outlived the next TCP_SLOTS cookies): both hold the same, so the hash's capacity is kept. Sockets without
 * a cookie were never tracked (the cookie is made at SYN_SENT), so their CLOSE costs one load. Two sockets whose
 * cookies share a slot and change state at the same instant on two CPUs can lose one of their samples.
 */
static __always_inline struct tcp_slot *slot_of(__u64 cookie)
{
	__u32 i = cookie & tcp_slot_mask;

	return bpf_map_lookup_elem(&tcp_slots, &i);
}

/* The entries in tcp_socks; NULL only if the array is missing. */
static __always_inline __u64 *socks_used(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tcp_socks_used, &zero);
}

/* What is kept for a tracked socket, else NULL (never tracked, or its entry was lost). */
static __always_inline struct tcp_sock_info *find_btf(const struct sock *sk)
{
	__u64 cookie = sk->__sk_common.skc_cookie.counter, *used;
	struct tcp_slot *s;

	if (!cookie)
		return NULL;
	s = slot_of(cookie);
	if (s && s->cookie == cookie)
		return &s->info;
	used = socks_used();
	if (!used || !*used)
		return NULL;
	return bpf_map_lookup_elem(&tcp_socks, &cookie);
}

static __always_inline void connect_btf(struct sock *sk)
{
	struct tcp_sock_info v = {
		.start_ns = bpf_ktime_get_ns(),
		.cgroup_id = task_cpu_cgroup_id(bpf_get_current_task_btf(), CGROUP_BTF),
	};
	__u64 cookie = bpf_get_socket_cookie(sk), *used;
	struct tcp_slot *s = slot_of(cookie);

	if (!s)
		return;
	if (!s->cookie || s->cookie == cookie) {
		s->cookie = cookie;
		s->info = v;
		return;
	}
	used = socks_used();
	if (!used || bpf_map_update_elem(&tcp_socks, &cookie, &v, BPF_NOEXIST)) {
		count_drop(&tcp_drops);
		return;
	}
	__sync_fetch_and_add(used, 1);
}

static __always_inline void close_btf(const struct sock *sk)
{
	__u64 cookie = sk->__sk_common.skc_cookie.counter, *used;
	struct tcp_slot *s;

	if (!cookie)
		return;
	s = slot_of(cookie);
	if (s && s->cookie == cookie) {
		s->cookie = 0;
		return;
	}
	used = socks_used();
	if (used && *used && !bpf_map_delete_elem(&tcp_socks, &cookie))
		__sync_fetch_and_add(used, -1);
}

static __always_inline void set_state_btf(struct sock *sk, int oldstate, int newstate)
{
	struct tcp_sock_info *info;
	__u64 delta;

	if (newstate == TCP_SYN_SENT) {
		connect_btf(sk);
		return;
	}
	if (newstate == TCP_CLOSE) {
		close_btf(sk);
		return;
	}
	if (newstate != TCP_ESTABLISHED || oldstate != TCP_SYN_SENT)
		return;
	info = find_btf(sk);
	if (!info || !info->start_ns)
		return;
	delta = bpf_ktime_get_ns() - info->start_ns;
	info->start_ns = 0; /* keep the entry: retransmits are attributed to info->cgroup_id */
	record_connect(info->cgroup_id, delta);
}

/* ---- raw_tp twins: untyped socket pointers, so the socket's address keys tcp_socks ---- */

/* The caller has checked that a SYN_SENT socket is TCP. */
static __always_inline void set_state_raw(struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk, delta;
	struct tcp_sock_info *info;

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
	info->start_ns = 0;
	record_connect(info->cgroup_id, delta);
}

/* +1 retransmit for the cgroup recorded at connect (info), else the socket's v2 cgroup or 0. */
static __always_inline void retransmit(struct sock *sk, struct tcp_sock_info *info)
{
	__u64 cgid = 0, zero = 0, *n;

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
	set_state_btf(sk, oldstate, newstate);
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tlc_tcp_retrans, struct sock *sk)
{
	retransmit(sk, find_btf(sk));
	return 0;
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(tlc_tcp_state_raw, struct sock *sk, int oldstate, int newstate)
{
	if (newstate == TCP_SYN_SENT && BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	set_state_raw(sk, oldstate, newstate);
	return 0;
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(tlc_tcp_retrans_raw, struct sock *sk)
{
	__u64 key = (__u64)sk;

	retransmit(sk, bpf_map_lookup_elem(&tcp_socks, &key));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

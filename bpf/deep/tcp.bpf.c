// SPDX-License-Identifier: Apache-2.0
/*
 * tcp (deep probe): the target's TCP connects (with handshake latency), failed connects, retransmits and resets.
 * Hooks: tracepoint/sock/inet_sock_set_state, tracepoint/tcp/tcp_retransmit_skb, tracepoint/tcp/tcp_send_reset,
 *        tracepoint/tcp/tcp_receive_reset. Tracepoints only, so it runs without kprobes.
 * Sockets: a socket is the target's once the target changes its state in its own context (connect, close); its
 *        addresses are kept then, so retransmits and resets handled later in softirq context are attributed.
 *        Accepted sockets the target never closes during the capture are not seen.
 * Maps:  tcpd_socks  HASH struct sock * -> {SYN ns, tgid, comm, addresses} (max 8192)
 *        tcpd_events RINGBUF 256 KiB of struct tcpd_event
 *        + deep_target / target_pids / deep_stats (deep_target.h)
 * Events: one record per connect, failed connect, retransmit or reset (budget: max_events).
 * Cost class: deep (every TCP state change, retransmit and reset on the host).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "tripline.h"
#include "deep_target.h"
#include "tcp.h"

char LICENSE[] SEC("license") = "GPL";

TRIPLINE_EXPORT_TYPE(tcpd_event);

#define IPPROTO_TCP_NR 6
#define ST_ESTABLISHED 1
#define ST_SYN_SENT 2
#define ST_CLOSE 7

struct owned {
	__u64 syn_ns; /* 0 unless a connect is in flight */
	__u32 tgid;
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u16 pad[3];
	__u8 saddr[16];
	__u8 daddr[16];
	char comm[TCPD_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct owned);
} tcpd_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} tcpd_events SEC(".maps");

static __always_inline void emit(__u32 type, struct owned *o, __u64 latency)
{
	if (!deep_take_event())
		return;
	struct tcpd_event *e = bpf_ringbuf_reserve(&tcpd_events, sizeof(*e), 0);
	if (!e) {
		deep_count(DEEP_STAT_DROPPED);
		return;
	}
	e->latency_ns = latency;
	e->type = type;
	e->tgid = o->tgid;
	e->family = o->family;
	e->sport = o->sport;
	e->dport = o->dport;
	e->pad = 0;
	__builtin_memcpy(e->saddr, o->saddr, 16);
	__builtin_memcpy(e->daddr, o->daddr, 16);
	__builtin_memcpy(e->comm, o->comm, TCPD_COMM_LEN);
	bpf_ringbuf_submit(e, 0);
}

SEC("tracepoint/sock/inet_sock_set_state")
int tcpd_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP_NR)
		return 0;
	__u64 sk = (__u64)ctx->skaddr;
	int newstate = ctx->newstate;
	struct owned *o = bpf_map_lookup_elem(&tcpd_socks, &sk);
	if (!o) {
		struct task_struct *t = (struct task_struct *)bpf_get_current_task();
		if (newstate == ST_CLOSE || !deep_is_target(t))
			return 0;
		struct owned n = {};
		n.tgid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(n.comm, sizeof(n.comm));
		n.family = ctx->family;
		n.sport = ctx->sport;
		n.dport = ctx->dport;
		// Copied with probe reads: the verifier refuses loads through a ctx pointer moved by a CO-RE offset.
		if (ctx->family == 2) {
			bpf_probe_read_kernel(n.saddr, 4, &ctx->saddr);
			bpf_probe_read_kernel(n.daddr, 4, &ctx->daddr);
		} else {
			bpf_probe_read_kernel(n.saddr, 16, &ctx->saddr_v6);
			bpf_probe_read_kernel(n.daddr, 16, &ctx->daddr_v6);
		}
		bpf_map_update_elem(&tcpd_socks, &sk, &n, BPF_NOEXIST);
		o = bpf_map_lookup_elem(&tcpd_socks, &sk);
		if (!o)
			return 0;
	}
	__u64 now = bpf_ktime_get_ns();
	if (newstate == ST_SYN_SENT) {
		o->syn_ns = now;
	} else if (newstate == ST_ESTABLISHED && o->syn_ns) {
		// The local port is bound by now (it may still be 0 at SYN_SENT).
		o->sport = ctx->sport;
		emit(TCPD_CONNECT, o, now - o->syn_ns);
		o->syn_ns = 0;
	} else if (newstate == ST_CLOSE) {
		if (o->syn_ns)
			emit(TCPD_CONNECT_FAIL, o, now - o->syn_ns);
		bpf_map_delete_elem(&tcpd_socks, &sk);
	}
	return 0;
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tcpd_retransmit(struct trace_event_raw_tcp_retransmit_skb *ctx)
{
	__u64 sk = (__u64)ctx->skaddr;
	struct owned *o = bpf_map_lookup_elem(&tcpd_socks, &sk);
	if (o)
		emit(TCPD_RETRANSMIT, o, 0);
	return 0;
}

SEC("tracepoint/tcp/tcp_send_reset")
int tcpd_send_reset(struct trace_event_raw_tcp_send_reset *ctx)
{
	__u64 sk = (__u64)ctx->skaddr;
	struct owned *o = sk ? bpf_map_lookup_elem(&tcpd_socks, &sk) : 0;
	if (o)
		emit(TCPD_SEND_RESET, o, 0);
	return 0;
}

SEC("tracepoint/tcp/tcp_receive_reset")
int tcpd_recv_reset(struct trace_event_raw_tcp_event_sk *ctx)
{
	__u64 sk = (__u64)ctx->skaddr;
	struct owned *o = bpf_map_lookup_elem(&tcpd_socks, &sk);
	if (o)
		emit(TCPD_RECV_RESET, o, 0);
	return 0;
}

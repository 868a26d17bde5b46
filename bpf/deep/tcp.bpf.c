// SPDX-License-Identifier: GPL-2.0
/*
 * tcp (deep probe, src/probes/deep/tcp.ts): the target's TCP connects (with handshake latency), failed connects,
 * retransmits and resets. (bpf/counters/tcp.bpf.c is the always-on tcp counter family.)
 * Hooks (tracepoints only, so it runs without kprobes; no tp_btf twins):
 *   sock:inet_sock_set_state  tld_tcp_state: adopt a socket the target changes in its own context (connect,
 *                             close), keeping its addresses; connect latency, failed connects
 *   tcp:tcp_retransmit_skb    tld_tcp_retrans  \
 *   tcp:tcp_send_reset        tld_tcp_rst_tx    } an event for an adopted socket (softirq context included)
 *   tcp:tcp_receive_reset     tld_tcp_rst_rx   /
 *   Accepted sockets the target never closes during the capture are not seen.
 * Maps:
 *   tcpd_socks   HASH key __u64 struct sock address -> struct owned {SYN ns, tgid, comm, addresses}, 8192
 *   tcpd_events  RINGBUF 256 KiB of struct tcpd_event
 *   + deep_target / target_pids / deep_stats (deep_target.h)
 * Knobs: none.
 * Emits: one record per connect, failed connect, retransmit or reset (budget: max_events).
 * Cost class: deep (every TCP state change, retransmit and reset on the host).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "tripline.h"
#include "maps.h"
#include "deep_target.h"
#include "tcp.h"

TRIPLINE_EXPORT_TYPE(tcpd_event);

#define IPPROTO_TCP_NR 6
#define ST_ESTABLISHED 1
#define ST_SYN_SENT 2
#define ST_CLOSE 7
#define AF_INET 2

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
	struct tcpd_event *e;

	if (!deep_take_event())
		return;
	e = bpf_ringbuf_reserve(&tcpd_events, sizeof(*e), 0);
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

/* The socket's new entry when the current task is the target's; NULL otherwise (or when the map is full). */
static __always_inline struct owned *adopt(struct trace_event_raw_inet_sock_set_state *ctx, __u64 sk)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct owned n;

	if (!deep_is_target(t))
		return NULL;
	__builtin_memset(&n, 0, sizeof(n));
	n.tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(n.comm, sizeof(n.comm));
	n.family = ctx->family;
	n.sport = ctx->sport;
	n.dport = ctx->dport;
	/* Copied with probe reads: the verifier refuses loads through a ctx pointer moved by a CO-RE offset. */
	if (ctx->family == AF_INET) {
		bpf_probe_read_kernel(n.saddr, 4, &ctx->saddr);
		bpf_probe_read_kernel(n.daddr, 4, &ctx->daddr);
	} else {
		bpf_probe_read_kernel(n.saddr, 16, &ctx->saddr_v6);
		bpf_probe_read_kernel(n.daddr, 16, &ctx->daddr_v6);
	}
	return map_lookup_or_init(&tcpd_socks, &sk, &n);
}

SEC("tracepoint/sock/inet_sock_set_state")
int tld_tcp_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 sk = (__u64)ctx->skaddr, now;
	int newstate = ctx->newstate;
	struct owned *o;

	if (ctx->protocol != IPPROTO_TCP_NR)
		return 0;
	o = bpf_map_lookup_elem(&tcpd_socks, &sk);
	if (!o) {
		if (newstate == ST_CLOSE)
			return 0;
		o = adopt(ctx, sk);
		if (!o)
			return 0;
	}
	now = bpf_ktime_get_ns();
	if (newstate == ST_SYN_SENT) {
		o->syn_ns = now;
	} else if (newstate == ST_ESTABLISHED && o->syn_ns) {
		/* The local port is bound by now (it may still be 0 at SYN_SENT). */
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
int tld_tcp_retrans(struct trace_event_raw_tcp_retransmit_skb *ctx)
{
	__u64 sk = (__u64)ctx->skaddr;
	struct owned *o = bpf_map_lookup_elem(&tcpd_socks, &sk);

	if (o)
		emit(TCPD_RETRANSMIT, o, 0);
	return 0;
}

SEC("tracepoint/tcp/tcp_send_reset")
int tld_tcp_rst_tx(struct trace_event_raw_tcp_send_reset *ctx)
{
	__u64 sk = (__u64)ctx->skaddr;
	struct owned *o = sk ? bpf_map_lookup_elem(&tcpd_socks, &sk) : NULL;

	if (o)
		emit(TCPD_SEND_RESET, o, 0);
	return 0;
}

SEC("tracepoint/tcp/tcp_receive_reset")
int tld_tcp_rst_rx(struct trace_event_raw_tcp_event_sk *ctx)
{
	__u64 sk = (__u64)ctx->skaddr;
	struct owned *o = bpf_map_lookup_elem(&tcpd_socks, &sk);

	if (o)
		emit(TCPD_RECV_RESET, o, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcp (counter family): kernel/user contract (bpf/counters/tcp.bpf.c, src/probes/counters/tcp.ts,
 * src/probes/decode/tcp.ts).
 */
#ifndef TRIPLINE_COUNTERS_TCP_H
#define TRIPLINE_COUNTERS_TCP_H

#include "hist.h"

/* Histogram unit: microseconds. */
#define TCP_UNIT_NS 1000

/* tcp_connect_latency: PERCPU_HASH, key __u64 cgroup id, value struct hist per CPU. */
#define TCP_KEY_SIZE 8
/* tcp_retransmits: PERCPU_HASH, key __u64 cgroup id (0 = unknown owner), value __u64 per CPU. */
#define TCP_RETRANS_VAL_SIZE 8

/*
 * What is kept per connecting socket from SYN_SENT to CLOSE. The tp_btf programs keep it in tcp_slots, the slot of
 * the socket's cookie, and in tcp_socks (key: the cookie) when another live socket holds that slot; the raw_tp twins
 * keep it in tcp_socks (key: the socket's address).
 */
struct tcp_sock_info {
	__u64 start_ns;   /* SYN_SENT time, 0 once established */
	__u64 cgroup_id;  /* cpu cgroup of the connecting task */
};
#define TCP_SOCK_INFO_SIZE 16
_Static_assert(sizeof(struct tcp_sock_info) == TCP_SOCK_INFO_SIZE, "struct tcp_sock_info size");
/* tcp_socks: HASH, key __u64 (cookie or address, above), value struct tcp_sock_info. */
#define TCP_SOCKS_MAX 65536

/*
 * tcp_slots (tp_btf): ARRAY, slot cookie & tcp_slot_mask (knob, TCP_SLOTS - 1 unless a test shrinks the array) ->
 * struct tcp_slot. Kernel-only, pinned by size.
 */
struct tcp_slot {
	__u64 cookie;   /* socket cookie (never 0), 0: free */
	struct tcp_sock_info info;
};
#define TCP_SLOT_SIZE 24
_Static_assert(sizeof(struct tcp_slot) == TCP_SLOT_SIZE, "struct tcp_slot size");
#define TCP_SLOTS 65536
_Static_assert((TCP_SLOTS & (TCP_SLOTS - 1)) == 0, "TCP_SLOTS: a power of two");

/* tcp_socks_used (tp_btf): ARRAY 1 x __u64, entries in tcp_socks; 0 skips its lookups. Kernel-only. */

/* tcp_drops: PERCPU_ARRAY 1 x __u64: sockets or cgroups not tracked because a map was full. */

#endif /* TRIPLINE_COUNTERS_TCP_H */

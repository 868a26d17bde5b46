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

/* tcp_socks: HASH, key __u64 socket address, value struct tcp_sock_info; entries live SYN_SENT -> CLOSE. */
struct tcp_sock_info {
	__u64 start_ns;   /* SYN_SENT time, 0 once established */
	__u64 cgroup_id;  /* cpu cgroup of the connecting task */
};
#define TCP_SOCK_INFO_SIZE 16
_Static_assert(sizeof(struct tcp_sock_info) == TCP_SOCK_INFO_SIZE, "struct tcp_sock_info size");
#define TCP_SOCKS_MAX 65536

/* tcp_drops: PERCPU_ARRAY 1 x __u64: sockets or cgroups not tracked because a map was full. */

#endif /* TRIPLINE_COUNTERS_TCP_H */

/* SPDX-License-Identifier: GPL-2.0 */
/* tcp (deep probe): kernel/user contract (bpf/deep/tcp.bpf.c, decoded by src/probes/deep/tcp.ts). */
#ifndef TRIPLINE_DEEP_TCP_H
#define TRIPLINE_DEEP_TCP_H

#define TCPD_COMM_LEN 16
#define TCPD_EVENT_SIZE 72
#define TCPD_CONNECT 1      /* SYN_SENT -> ESTABLISHED; latency_ns = handshake time */
#define TCPD_CONNECT_FAIL 2 /* SYN_SENT -> CLOSE; latency_ns = time to failure */
#define TCPD_RETRANSMIT 3
#define TCPD_SEND_RESET 4
#define TCPD_RECV_RESET 5

struct tcpd_event {
	__u64 latency_ns;
	__u32 type;  /* TCPD_* */
	__u32 tgid;
	__u16 family; /* AF_INET 2, AF_INET6 10 */
	__u16 sport;
	__u16 dport;
	__u16 pad;
	__u8 saddr[16];
	__u8 daddr[16];
	char comm[TCPD_COMM_LEN];
};

#ifdef __bpf__
_Static_assert(sizeof(struct tcpd_event) == TCPD_EVENT_SIZE, "tcpd_event layout");
#endif
#endif /* TRIPLINE_DEEP_TCP_H */

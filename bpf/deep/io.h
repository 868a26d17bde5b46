/* SPDX-License-Identifier: GPL-2.0 */
/* io (deep probe): kernel/user contract (bpf/deep/io.bpf.c, decoded by src/probes/deep/io.ts). */
#ifndef TRIPLINE_DEEP_IO_H
#define TRIPLINE_DEEP_IO_H

#define IO_COMM_LEN 16
#define IOD_EVENT_SIZE 56

/* One block request of the target at or over the threshold. */
struct iod_event {
	__u64 latency_ns; /* issue to complete */
	__u64 sector;
	__u32 dev;        /* major << 20 | minor, as the kernel's MKDEV */
	__u32 bytes;
	__u32 op;         /* REQ_OP_*: 0 read, 1 write, 2 flush, 3 discard, 9 write zeroes */
	__u32 tgid;
	__s32 error;
	__u32 pad;
	char comm[IO_COMM_LEN];
};

#ifdef __bpf__
_Static_assert(sizeof(struct iod_event) == IOD_EVENT_SIZE, "iod_event layout");
#endif
#endif /* TRIPLINE_DEEP_IO_H */

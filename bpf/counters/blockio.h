/* SPDX-License-Identifier: GPL-2.0 */
/* blockio (counter family): kernel/user contract (bpf/counters/blockio.bpf.c, src/probes/counters/blockio.ts). */
#ifndef TRIPLINE_COUNTERS_BLOCKIO_H
#define TRIPLINE_COUNTERS_BLOCKIO_H

#include "hist.h"

/* Histogram unit: microseconds. */
#define BLOCKIO_UNIT_NS 1000

/* Operations, from cmd_flags & REQ_OP_MASK. */
#define BLOCKIO_OP_READ 0
#define BLOCKIO_OP_WRITE 1
#define BLOCKIO_OP_FLUSH 2
#define BLOCKIO_OP_DISCARD 3
#define BLOCKIO_OP_OTHER 4

/* blockio_latency: PERCPU_HASH, key struct blockio_key, value struct hist per CPU. */
struct blockio_key {
	__u32 dev;   /* major << 20 | minor (the kernel's dev_t encoding) of the whole disk */
	__u32 op;    /* BLOCKIO_OP_* */
};
#define BLOCKIO_KEY_SIZE 8
_Static_assert(sizeof(struct blockio_key) == BLOCKIO_KEY_SIZE, "struct blockio_key size");
#define BLOCKIO_MAX 1024

/*
 * blockio_cgroup_bytes: PERCPU_HASH, key __u64 cpu cgroup id of the issuing task -> __u64 bytes it issued.
 * Default size; userspace sets it to counters.max_cgroups before load.
 */
#define BLOCKIO_CG_MAX 10240

/*
 * blockio_start: HASH, key __u64 struct request address, value __u64 issue time (ns), issue -> complete. The disk and
 * op are read at completion (the request is unchanged): with them in a 16-byte value each hash element took 72
 * bytes, over two cache lines, and the completion measured ~1.2x biolatency's instead of ~1.0x.
 */
#define BLOCKIO_INFLIGHT_MAX 16384

/* blockio_drops: PERCPU_ARRAY 1 x __u64: requests not timed because a map was full. */

#endif /* TRIPLINE_COUNTERS_BLOCKIO_H */

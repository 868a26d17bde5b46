// SPDX-License-Identifier: GPL-2.0
/* blockio — block I/O latency (issue to completion) per disk and operation. Cost class: always-on.
 *
 * Hooks (tp_btf, each with a raw_tp twin; userspace loads one set):
 *   block:block_rq_issue     remember issue time, disk and op of the request
 *   block:block_rq_complete  latency into the (disk, op) histogram
 * Maps:
 *   blockio_latency  PERCPU_HASH key struct blockio_key → struct hist, BLOCKIO_MAX
 *   blockio_start    HASH key __u64 request address → struct blockio_start, BLOCKIO_INFLIGHT_MAX
 *   blockio_drops    PERCPU_ARRAY 1 × __u64
 * Knobs: none.
 * Emits: nothing per event; userspace reads blockio_latency each tick (cumulative).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "hist.h"
#include "blockio.h"

#define REQ_OP_MASK 0xff /* (1 << REQ_OP_BITS) - 1, REQ_OP_BITS = 8 since 5.x */
#define MINORBITS 20

/* Kernels before 5.17 had the disk in request->rq_disk (f3fa33acca9f moved it to q->disk). */
struct request___old {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* memory per key seen, not max_entries × CPUs up front */
	__uint(max_entries, BLOCKIO_MAX);
	__type(key, struct blockio_key);
	__type(value, struct hist);
} blockio_latency SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLOCKIO_INFLIGHT_MAX);
	__type(key, __u64);
	__type(value, struct blockio_start);
} blockio_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} blockio_drops SEC(".maps");

static const struct hist zero_hist;

static __always_inline void drop(void)
{
	__u32 zero = 0;
	__u64 *d = bpf_map_lookup_elem(&blockio_drops, &zero);

	if (d)
		(*d)++;
}

static __always_inline __u32 op_of(__u32 flags)
{
	switch (flags & REQ_OP_MASK) {
	case 0: return BLOCKIO_OP_READ;     /* REQ_OP_READ */
	case 1: return BLOCKIO_OP_WRITE;    /* REQ_OP_WRITE */
	case 2: return BLOCKIO_OP_FLUSH;    /* REQ_OP_FLUSH */
	case 3: return BLOCKIO_OP_DISCARD;  /* REQ_OP_DISCARD */
	default: return BLOCKIO_OP_OTHER;
	}
}

static __always_inline void issue(struct request *rq)
{
	struct gendisk *disk;
	__u64 key = (__u64)rq;
	struct blockio_start s = { .ts = bpf_ktime_get_ns() };

	if (bpf_core_field_exists(rq->q->disk))
		disk = BPF_CORE_READ(rq, q, disk);
	else
		disk = BPF_CORE_READ((struct request___old *)rq, rq_disk);
	if (disk)
		s.key.dev = ((__u32)BPF_CORE_READ(disk, major) << MINORBITS) | BPF_CORE_READ(disk, first_minor);
	s.key.op = op_of(BPF_CORE_READ(rq, cmd_flags));
	if (bpf_map_update_elem(&blockio_start, &key, &s, BPF_ANY))
		drop();
}

static __always_inline void complete(struct request *rq)
{
	__u64 key = (__u64)rq;
	struct blockio_start *s = bpf_map_lookup_elem(&blockio_start, &key);
	struct hist *h;

	if (!s)
		return; /* issued before attach, or a partial completion already counted */
	__u64 delta = bpf_ktime_get_ns() - s->ts;
	struct blockio_key hk = s->key;

	bpf_map_delete_elem(&blockio_start, &key);
	h = bpf_map_lookup_elem(&blockio_latency, &hk);
	if (!h) {
		bpf_map_update_elem(&blockio_latency, &hk, &zero_hist, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&blockio_latency, &hk);
		if (!h) {
			drop();
			return;
		}
	}
	hist_add(h, delta / BLOCKIO_UNIT_NS);
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(tl_bio_issue, struct request *rq)
{
	issue(rq);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(tl_bio_complete, struct request *rq)
{
	complete(rq);
	return 0;
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(tl_bio_issue_raw, struct request *rq)
{
	issue(rq);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(tl_bio_complete_raw, struct request *rq)
{
	complete(rq);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

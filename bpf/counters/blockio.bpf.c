// SPDX-License-Identifier: GPL-2.0
/*
 * blockio (counter family, src/probes/counters/blockio.ts): block I/O latency (issue to completion) per disk and
 * operation.
 * Hooks (tp_btf, each with a raw_tp twin; userspace loads one set):
 *   block:block_rq_issue     tlc_bio_issue: remember the issue time of the request and the cpu cgroup of the task
 *                            issuing it (the submitter for direct issue and its own plug flush, as with O_DIRECT on a
 *                            disk without scheduler; a kworker, counted under the root cgroup, for requests
 *                            dispatched later by kblockd or written back by the flusher)
 *   block:block_rq_complete  tlc_bio_done: latency into the histogram of the request's (disk, op) and into the
 *                            issuing cgroup's time
 * Maps:
 *   blockio_latency  PERCPU_HASH key struct blockio_key -> struct hist, BLOCKIO_MAX
 *   blockio_cgroup_time PERCPU_HASH key __u64 cgroup id -> __u64 ns of its requests in flight (issue to completion),
 *                    BLOCKIO_CG_MAX (userspace sets counters.max_cgroups): the per-cgroup twin of blockio_latency
 *   blockio_start    HASH key __u64 request address -> struct blockio_start, BLOCKIO_INFLIGHT_MAX
 *   blockio_drops    PERCPU_ARRAY 1 x __u64 (maps.h)
 * Knobs: none.
 * Emits: nothing per event; userspace reads blockio_latency each tick (cumulative).
 * Cost class: always-on (two programs per block request on the host).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "maps.h"
#include "hist.h"
#include "blkreq.h"
#include "cgroup.h"
#include "blockio.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* memory per key seen, not max_entries x CPUs up front */
	__uint(max_entries, BLOCKIO_MAX);
	__type(key, struct blockio_key);
	__type(value, struct hist);
} blockio_latency SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, BLOCKIO_CG_MAX);
	__type(key, __u64);
	__type(value, __u64);
} blockio_cgroup_time SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLOCKIO_INFLIGHT_MAX);
	__type(key, __u64);
	__type(value, struct blockio_start);
} blockio_start SEC(".maps");

DROPS_MAP(blockio_drops);

static const struct hist zero_hist;
static const __u64 zero_u64;

/* BLOCKIO_OP_* of a REQ_OP_*. */
static __always_inline __u32 op_of(__u32 op)
{
	switch (op) {
	case 0: /* REQ_OP_READ */
		return BLOCKIO_OP_READ;
	case 1: /* REQ_OP_WRITE */
		return BLOCKIO_OP_WRITE;
	case 2: /* REQ_OP_FLUSH */
		return BLOCKIO_OP_FLUSH;
	case 3: /* REQ_OP_DISCARD */
		return BLOCKIO_OP_DISCARD;
	default:
		return BLOCKIO_OP_OTHER;
	}
}

static __always_inline void issue(struct request *rq)
{
	__u64 key = (__u64)rq;
	struct blockio_start st = {
		.ts = bpf_ktime_get_ns(),
		.cgroup_id = task_cpu_cgroup_id(bpf_get_current_task_btf(), CGROUP_BTF),
	};

	if (bpf_map_update_elem(&blockio_start, &key, &st, BPF_ANY))
		count_drop(&blockio_drops);
}

/* `btf`: BLKREQ_BTF in the tp_btf program (direct loads), BLKREQ_CORE in its raw_tp twin (blkreq.h). */
static __always_inline void complete(struct request *rq, bool btf)
{
	__u64 key = (__u64)rq, delta, cgid, *t;
	struct blockio_start *st = bpf_map_lookup_elem(&blockio_start, &key);
	struct blockio_key hk;
	struct hist *h;

	if (!st)
		return; /* issued before attach, or a partial completion already counted */
	delta = bpf_ktime_get_ns() - st->ts;
	cgid = st->cgroup_id;
	hk.dev = blkreq_dev(rq, btf);
	hk.op = op_of(blkreq_op(rq, btf));
	h = map_lookup_or_init(&blockio_latency, &hk, &zero_hist);
	if (h)
		hist_add(h, hist_div1000(delta)); /* BLOCKIO_UNIT_NS */
	else
		count_drop(&blockio_drops);
	t = map_lookup_or_init(&blockio_cgroup_time, &cgid, &zero_u64);
	if (t)
		*t += delta;
	else
		count_drop(&blockio_drops);
	bpf_map_delete_elem(&blockio_start, &key);
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(tlc_bio_issue, struct request *rq)
{
	issue(rq);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(tlc_bio_done, struct request *rq)
{
	complete(rq, BLKREQ_BTF);
	return 0;
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(tlc_bio_issue_raw, struct request *rq)
{
	issue(rq);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(tlc_bio_done_raw, struct request *rq)
{
	complete(rq, BLKREQ_CORE);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/*
 * blockio (counter family, src/probes/counters/blockio.ts): block I/O latency (issue to completion) per disk and
 * operation.
 * Hooks (tp_btf, each with a raw_tp twin; userspace loads one set):
 *   block:block_rq_issue     tlc_bio_issue: remember the issue time of the request; add its bytes to the issuing
 *                            task's cpu cgroup (the submitter for direct issue and its own plug flush, as with
 *                            O_DIRECT; a kworker, counted under the root cgroup, for requests dispatched later by
 *                            kblockd or written back by the flusher)
 *   block:block_rq_complete  tlc_bio_done: latency into the histogram of the request's (disk, op)
 * Maps:
 *   blockio_latency  PERCPU_HASH key struct blockio_key -> struct hist, BLOCKIO_MAX
 *   blockio_cgroup_bytes PERCPU_HASH key __u64 cgroup id -> __u64 bytes issued, BLOCKIO_CG_MAX (userspace sets
 *                    counters.max_cgroups): the per-cgroup twin of blockio_latency
 *   blockio_start    HASH key __u64 request address -> __u64 issue ns, BLOCKIO_INFLIGHT_MAX
 *   blockio_drops    PERCPU_ARRAY 1 x __u64 (maps.h)
 * Knobs: none.
 * Emits: nothing per event; userspace reads blockio_latency each tick (cumulative).
 * Cost class: always-on (two programs per block request on the host; the issue also reads the task's cgroup id and
 *   adds to one per-CPU hash value).
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
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLOCKIO_INFLIGHT_MAX);
	__type(key, __u64);
	__type(value, __u64);
} blockio_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, BLOCKIO_CG_MAX);
	__type(key, __u64);
	__type(value, __u64);
} blockio_cgroup_bytes SEC(".maps");

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

/* `btf` as in complete() below. */
static __always_inline void issue(struct request *rq, bool btf)
{
	__u64 key = (__u64)rq, ts = bpf_ktime_get_ns(), cgid, *bytes;

	if (bpf_map_update_elem(&blockio_start, &key, &ts, BPF_ANY))
		count_drop(&blockio_drops);
	/*
	 * The per-cgroup twin is counted here, in the issuer's context, not at completion (interrupt context): the
	 * cgroup would have to ride in blockio_start's value, and a 16-byte value plus a hash update at completion
	 * measured the completion at ~1.3x biolatency's (bench/README.md). Bytes, not time: the load a cgroup puts on
	 * the disks, which is what makes everyone's requests wait.
	 */
	cgid = task_cpu_cgroup_id(bpf_get_current_task_btf(), CGROUP_BTF);
	bytes = map_lookup_or_init(&blockio_cgroup_bytes, &cgid, &zero_u64);
	if (bytes)
		*bytes += blkreq_bytes(rq, btf);
	else
		count_drop(&blockio_drops);
}

/* `btf`: BLKREQ_BTF in the tp_btf program (direct loads), BLKREQ_CORE in its raw_tp twin (blkreq.h). */
static __always_inline void complete(struct request *rq, bool btf)
{
	__u64 key = (__u64)rq, delta, *ts = bpf_map_lookup_elem(&blockio_start, &key);
	struct blockio_key hk;
	struct hist *h;

	if (!ts)
		return; /* issued before attach, or a partial completion already counted */
	delta = bpf_ktime_get_ns() - *ts;
	hk.dev = blkreq_dev(rq, btf);
	hk.op = op_of(blkreq_op(rq, btf));
	h = map_lookup_or_init(&blockio_latency, &hk, &zero_hist);
	if (h)
		hist_add(h, hist_div1000(delta)); /* BLOCKIO_UNIT_NS */
	else
		count_drop(&blockio_drops);
	bpf_map_delete_elem(&blockio_start, &key);
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(tlc_bio_issue, struct request *rq)
{
	issue(rq, BLKREQ_BTF);
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
	issue(rq, BLKREQ_CORE);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(tlc_bio_done_raw, struct request *rq)
{
	complete(rq, BLKREQ_CORE);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

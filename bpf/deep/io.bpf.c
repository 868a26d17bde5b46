// SPDX-License-Identifier: GPL-2.0
/*
 * io (deep probe, src/probes/deep/io.ts): block I/O latency of requests issued by the target, and each request over
 * a threshold.
 * Hooks (tp_btf, each with a raw_tp twin; userspace loads one set):
 *   block:block_rq_issue     tld_io_issue: remember issue time, tgid and comm of a target's request
 *   block:block_rq_complete  tld_io_done: latency into the histogram; an event when over the threshold
 *   The issuer is the task current at block_rq_issue: the submitter for direct and synchronous I/O; background
 *   writeback is issued by kernel workers and is not the target's.
 * Maps:
 *   io_start   HASH key __u64 request address -> struct issued {issue ns, tgid, comm}, 8192
 *   io_lat     PERCPU_ARRAY 1 x struct hist of latencies in ns (hist.h)
 *   io_events  RINGBUF 256 KiB of struct iod_event
 *   + deep_target / target_pids / deep_stats (deep_target.h)
 * Knobs (rodata): threshold_ns: requests at least this slow are sent as events.
 * Emits: one record per request over the threshold (budget: max_events; the histogram keeps counting).
 * Cost class: deep (every block request on the host).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "tripline.h"
#include "deep_target.h"
#include "hist.h"
#include "blkreq.h"
#include "io.h"

TRIPLINE_EXPORT_TYPE(iod_event);

const volatile __u64 threshold_ns = 1000000;

struct issued {
	__u64 ts;
	__u32 tgid;
	__u32 pad;
	char comm[IO_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct issued);
} io_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hist);
} io_lat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} io_events SEC(".maps");

static __always_inline void on_issue(struct request *rq)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 key = (__u64)rq;
	struct issued s;

	if (!deep_is_target(t))
		return;
	__builtin_memset(&s, 0, sizeof(s));
	s.ts = bpf_ktime_get_ns();
	s.tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(s.comm, sizeof(s.comm));
	bpf_map_update_elem(&io_start, &key, &s, BPF_ANY);
}

static __always_inline void on_complete(struct request *rq, int error, unsigned int nr_bytes)
{
	__u64 key = (__u64)rq, lat;
	struct issued *s = bpf_map_lookup_elem(&io_start, &key);
	struct iod_event *e;
	struct hist *h;
	__u32 zero = 0;

	if (!s)
		return;
	lat = bpf_ktime_get_ns() - s->ts;
	h = bpf_map_lookup_elem(&io_lat, &zero);
	if (h)
		hist_add(h, lat);
	if (lat >= threshold_ns && deep_take_event()) {
		e = bpf_ringbuf_reserve(&io_events, sizeof(*e), 0);
		if (e) {
			e->latency_ns = lat;
			e->sector = blkreq_sector(rq, BLKREQ_CORE);
			e->dev = blkreq_dev(rq, BLKREQ_CORE);
			e->bytes = nr_bytes;
			e->op = blkreq_op(rq, BLKREQ_CORE);
			e->tgid = s->tgid;
			e->error = error;
			e->pad = 0;
			__builtin_memcpy(e->comm, s->comm, IO_COMM_LEN);
			bpf_ringbuf_submit(e, 0);
		} else {
			deep_count(DEEP_STAT_DROPPED);
		}
	}
	bpf_map_delete_elem(&io_start, &key);
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(tld_io_issue, struct request *rq)
{
	on_issue(rq);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(tld_io_done, struct request *rq, int error, unsigned int nr_bytes)
{
	on_complete(rq, error, nr_bytes);
	return 0;
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(tld_io_issue_raw, struct request *rq)
{
	on_issue(rq);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(tld_io_done_raw, struct request *rq, int error, unsigned int nr_bytes)
{
	on_complete(rq, error, nr_bytes);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/*
 * pg (deep probe, src/probes/deep/pg.ts): PostgreSQL query latency from the server's USDT probes, with the text of
 * each slow query. (bpf/counters/pg.bpf.c is the always-on pg counter family.)
 * Hooks (USDT, attached by userspace to the postgres binary for every process, since backends are forked after the
 * capture starts; the target filter, usually a cgroup or the postmaster pid with match_children, picks backends):
 *   postgresql:query__start(const char *query)  tld_pg_start: remember the start time and the query text
 *   postgresql:query__done(const char *query)   tld_pg_done: duration into the kind's histogram; an event when over
 *                                               the threshold
 * Maps:
 *   pg_inflight  HASH key __u32 tid -> struct inflight {start ns, query text}, 4096
 *   pg_kinds     PERCPU_ARRAY PG_KINDS x struct hist of durations in ns (hist.h; count = sum of slots)
 *   pg_events    RINGBUF 256 KiB of struct pg_event
 *   pg_scratch   PERCPU_ARRAY 1 x struct inflight (built here: too big for the BPF stack)
 *   + deep_target / target_pids / deep_stats (deep_target.h)
 *   + the USDT spec maps of <bpf/usdt.bpf.h> (filled by libbpf at attach)
 * Knobs (rodata): threshold_ns: queries at least this long are sent with their text.
 * Emits: one record per query over the threshold (budget: max_events; the per-kind histograms keep counting).
 * Cost class: deep (two uprobes per query of every postgres process on the host).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "tripline.h"
#include "deep_target.h"
#include "hist.h"
#include "pg.h"

TRIPLINE_EXPORT_TYPE(pg_event);

const volatile __u64 threshold_ns = 1000000;

struct inflight {
	__u64 ts;
	__u32 query_len;
	__u32 pad;
	char query[PG_QUERY_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct inflight);
} pg_inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PG_KINDS);
	__type(key, __u32);
	__type(value, struct hist);
} pg_kinds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} pg_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct inflight);
} pg_scratch SEC(".maps");

static __always_inline char upper(char c)
{
	return (c >= 'a' && c <= 'z') ? c - 32 : c;
}

/* Kind from the first keyword (after up to 8 blanks); the rest is OTHER (WITH, BEGIN, COPY, ...). */
static __always_inline __u32 kind_of(const char *q)
{
	char a, b, c;
	int i = 0;

	for (; i < 8; i++)
		if (q[i] != ' ' && q[i] != '\t' && q[i] != '\n' && q[i] != '\r' && q[i] != '(')
			break;
	if (i > PG_QUERY_LEN - 8)
		return PG_KIND_OTHER;
	a = upper(q[i]);
	b = upper(q[i + 1]);
	c = upper(q[i + 2]);
	if (a == 'S' && b == 'E' && c == 'L')
		return PG_KIND_SELECT;
	if (a == 'I' && b == 'N' && c == 'S')
		return PG_KIND_INSERT;
	if (a == 'U' && b == 'P' && c == 'D')
		return PG_KIND_UPDATE;
	if (a == 'D' && b == 'E' && c == 'L')
		return PG_KIND_DELETE;
	return PG_KIND_OTHER;
}

SEC("usdt")
int BPF_USDT(tld_pg_start, const char *query)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u32 zero = 0, tid;
	struct inflight *f;
	long n;

	if (!deep_is_target(t))
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	f = bpf_map_lookup_elem(&pg_scratch, &zero);
	if (!f)
		return 0;
	n = bpf_probe_read_user_str(f->query, sizeof(f->query), query);
	f->query_len = n > 0 ? n : 0;
	f->ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&pg_inflight, &tid, f, BPF_ANY);
	return 0;
}

SEC("usdt")
int BPF_USDT(tld_pg_done, const char *query)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), kind;
	struct inflight *f = bpf_map_lookup_elem(&pg_inflight, &tid);
	struct pg_event *e;
	struct hist *h;
	__u64 dur;

	if (!f)
		return 0;
	dur = bpf_ktime_get_ns() - f->ts;
	kind = kind_of(f->query);
	h = bpf_map_lookup_elem(&pg_kinds, &kind);
	if (h)
		hist_add(h, dur);
	if (dur >= threshold_ns && deep_take_event()) {
		e = bpf_ringbuf_reserve(&pg_events, sizeof(*e), 0);
		if (e) {
			e->duration_ns = dur;
			e->pid = bpf_get_current_pid_tgid() >> 32;
			e->kind = kind;
			e->query_len = f->query_len;
			e->pad = 0;
			__builtin_memcpy(e->query, f->query, PG_QUERY_LEN);
			bpf_ringbuf_submit(e, 0);
		} else {
			deep_count(DEEP_STAT_DROPPED);
		}
	}
	bpf_map_delete_elem(&pg_inflight, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

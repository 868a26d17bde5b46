// SPDX-License-Identifier: GPL-2.0
/*
 * pg (counter family, src/probes/counters/pg.ts): PostgreSQL query latency per cpu cgroup of the backend and query
 * kind. (bpf/deep/pg.bpf.c is the pg deep probe: per-query records with text, attached only during a capture.)
 * Hooks (USDT, attached by userspace to each PostgreSQL binary for every process, pid -1, since backends are forked
 * by the postmaster at any time; USDT has no tp_btf/raw_tp twins):
 *   postgresql:query__start(const char *query)  tlc_pg_start: remember the start time and the query kind of this
 *                                               thread; the kind comes from the first PG_PEEK bytes of the text
 *   postgresql:query__done(const char *query)   tlc_pg_done: latency into (cpu cgroup of the backend, kind); the
 *                                               argument is not read (fetching it costs a user-memory read per query)
 *   A query that fails never fires query__done: the backend's next query__start overwrites its start.
 * Maps:
 *   pg_query_latency  PERCPU_HASH key struct pg_key {cgroup id, kind} -> struct hist (us), max = max_cgroups
 *   pg_query_start    TASK_STORAGE -> struct pg_start (per thread, freed with it: nothing leaks when a backend
 *                     dies mid-query; measured ~1/3 cheaper per query than a hash keyed by pid_tgid, bench/pg.ts)
 *   pg_drops          PERCPU_ARRAY 1 x __u64 (maps.h)
 *   + the USDT spec maps of <bpf/usdt.bpf.h> (filled by libbpf at attach)
 * Knobs: none.
 * Emits: nothing per event; userspace reads pg_query_latency each tick (cumulative).
 * Cost class: always-on (two uprobes per query of every postgres process attached to).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "maps.h"
#include "hist.h"
#include "cgroup.h"
#include "pg.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* memory per key seen, not max_entries x CPUs up front */
	__uint(max_entries, 10240);
	__type(key, struct pg_key);
	__type(value, struct hist);
} pg_query_latency SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* required for task storage */
	__type(key, int);
	__type(value, struct pg_start);
} pg_query_start SEC(".maps");

DROPS_MAP(pg_drops);

static const struct hist zero_hist;

/* The first six letters of the keywords, upper case, packed big-endian into the low 48 bits. */
#define KW(a, b, c, d, e, f) \
	(((__u64)(a) << 40) | ((__u64)(b) << 32) | ((__u64)(c) << 24) | ((__u64)(d) << 16) | ((__u64)(e) << 8) | (__u64)(f))

/*
 * Kind of a query from its first bytes: skip blanks and '(', pack the next six characters (upper-cased) into a
 * register and compare with the four keywords. Constant indices only: no variable stack offsets for the verifier.
 */
static __always_inline __u32 query_kind(const char *query)
{
	char buf[PG_PEEK] = {};
	__u64 w = 0;
	__u32 n = 0;
	bool started = false;

	/* A 16-byte read can cross into an unmapped page when a short query ends near one: then read up to the NUL. */
	if (bpf_probe_read_user(buf, sizeof(buf), query) && bpf_probe_read_user_str(buf, sizeof(buf), query) < 0)
		return PG_KIND_OTHER;
#pragma unroll
	for (int i = 0; i < PG_PEEK; i++) {
		char c = buf[i];

		if (c == 0 || n == 6)
			break;
		if (!started && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '('))
			continue;
		started = true;
		w = (w << 8) | (__u8)((c >= 'a' && c <= 'z') ? c - 32 : c);
		n++;
	}
	if (n < 6)
		return PG_KIND_OTHER;
	if (w == KW('S', 'E', 'L', 'E', 'C', 'T'))
		return PG_KIND_SELECT;
	if (w == KW('I', 'N', 'S', 'E', 'R', 'T'))
		return PG_KIND_INSERT;
	if (w == KW('U', 'P', 'D', 'A', 'T', 'E'))
		return PG_KIND_UPDATE;
	if (w == KW('D', 'E', 'L', 'E', 'T', 'E'))
		return PG_KIND_DELETE;
	return PG_KIND_OTHER;
}

SEC("usdt")
int BPF_USDT(tlc_pg_start, const char *query)
{
	struct pg_start *s;

	s = bpf_task_storage_get(&pg_query_start, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!s) {
		count_drop(&pg_drops); /* no memory for this thread's storage */
		return 0;
	}
	s->kind = query_kind(query);
	s->start_ns = bpf_ktime_get_ns(); /* after the text read: its cost is not part of the query */
	return 0;
}

SEC("usdt")
int BPF_USDT(tlc_pg_done)
{
	__u64 now = bpf_ktime_get_ns();
	struct task_struct *t = bpf_get_current_task_btf();
	struct pg_start *s = bpf_task_storage_get(&pg_query_start, t, 0, 0);
	struct pg_key key = {};
	struct hist *h;
	__u64 delta;

	if (!s || !s->start_ns)
		return 0; /* attached mid-query */
	key.cgroup_id = task_cpu_cgroup_id(t, CGROUP_BTF);
	key.kind = s->kind;
	delta = now - s->start_ns;
	s->start_ns = 0; /* done; the storage itself lives until the thread exits (cheaper than a delete per query) */
	h = map_lookup_or_init(&pg_query_latency, &key, &zero_hist);
	if (!h) {
		count_drop(&pg_drops);
		return 0;
	}
	hist_add(h, delta / PG_UNIT_NS);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

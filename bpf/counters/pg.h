/* Kernel/user contract of the pg counter family (bpf/counters/pg.bpf.c, src/probes/counters/pg.ts,
 * src/probes/decode/pg.ts). Stem `pgstat` because bpf/pg.* is the pg deep probe. */
#ifndef TRIPLINE_PGSTAT_H
#define TRIPLINE_PGSTAT_H

#include "hist.h"

/* Histogram unit: microseconds (slot 31 starts at 2^30 µs ≈ 18 min). */
#define PGSTAT_UNIT_NS 1000

/* Query kinds, from the first keyword of the query text (case-insensitive, after blanks and '('). */
#define PGSTAT_KIND_SELECT 0
#define PGSTAT_KIND_INSERT 1
#define PGSTAT_KIND_UPDATE 2
#define PGSTAT_KIND_DELETE 3
#define PGSTAT_KIND_OTHER 4
#define PGSTAT_KINDS 5

/* Bytes of query text read per query: enough for up to 10 leading blanks or '(' and a 6-letter keyword. */
#define PGSTAT_PEEK 16

/* pg_query_latency: PERCPU_HASH, key struct pgstat_key, value struct hist per CPU,
 * max entries = counters.max_cgroups (one entry per (cgroup, kind) seen; memory per key seen). */
struct pgstat_key {
	__u64 cgroup_id; /* cpu cgroup of the backend when the query finished */
	__u32 kind;      /* PGSTAT_KIND_* */
	__u32 pad;       /* always 0 (part of the hash key) */
};
#define PGSTAT_KEY_SIZE 16
_Static_assert(sizeof(struct pgstat_key) == PGSTAT_KEY_SIZE, "struct pgstat_key size");

/* pg_query_start: TASK_STORAGE, value struct pgstat_start: one per thread that ran a query (postgres backends),
 * freed with the thread; start_ns is set to 0 at query__done. */
struct pgstat_start {
	__u64 start_ns; /* bpf_ktime_get_ns() at query__start, 0 when no query is running */
	__u32 kind;     /* PGSTAT_KIND_* */
	__u32 pad;
};
#define PGSTAT_START_SIZE 16
_Static_assert(sizeof(struct pgstat_start) == PGSTAT_START_SIZE, "struct pgstat_start size");

/* pg_drops: PERCPU_ARRAY 1 × __u64: queries not recorded (pg_query_latency full, or no memory for a thread's storage). */

#endif /* TRIPLINE_PGSTAT_H */

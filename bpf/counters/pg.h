/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pg (counter family): kernel/user contract (bpf/counters/pg.bpf.c, src/probes/counters/pg.ts,
 * src/probes/decode/pg.ts).
 */
#ifndef TRIPLINE_COUNTERS_PG_H
#define TRIPLINE_COUNTERS_PG_H

#include "hist.h"

/* Histogram unit: microseconds (slot 31 starts at 2^30 us ~ 18 min). */
#define PG_UNIT_NS 1000

/* Query kinds, from the first keyword of the query text (case-insensitive, after blanks and '('). */
#define PG_KIND_SELECT 0
#define PG_KIND_INSERT 1
#define PG_KIND_UPDATE 2
#define PG_KIND_DELETE 3
#define PG_KIND_OTHER 4
#define PG_KINDS 5

/* Bytes of query text read per query: enough for up to 10 leading blanks or '(' and a 6-letter keyword. */
#define PG_PEEK 16

/*
 * pg_query_latency: PERCPU_HASH, key struct pg_key, value struct hist per CPU,
 * max entries = counters.max_cgroups (one entry per (cgroup, kind) seen; memory per key seen).
 */
struct pg_key {
	__u64 cgroup_id; /* cpu cgroup of the backend when the query finished */
	__u32 kind;      /* PG_KIND_* */
	__u32 pad;       /* always 0 (part of the hash key) */
};
#define PG_KEY_SIZE 16
_Static_assert(sizeof(struct pg_key) == PG_KEY_SIZE, "struct pg_key size");

/*
 * pg_query_start: TASK_STORAGE, value struct pg_start: one per thread that ran a query (postgres backends),
 * freed with the thread; start_ns is set to 0 at query__done.
 */
struct pg_start {
	__u64 start_ns; /* bpf_ktime_get_ns() at query__start, 0 when no query is running */
	__u32 kind;     /* PG_KIND_* */
	__u32 pad;
};
#define PG_START_SIZE 16
_Static_assert(sizeof(struct pg_start) == PG_START_SIZE, "struct pg_start size");

/*
 * pg_drops: PERCPU_ARRAY 1 x __u64: queries not recorded (pg_query_latency full, or no memory for a thread's
 * storage).
 */

#endif /* TRIPLINE_COUNTERS_PG_H */

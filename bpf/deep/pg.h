/* SPDX-License-Identifier: GPL-2.0 */
/* pg (deep probe): kernel/user contract (bpf/deep/pg.bpf.c, decoded by src/probes/deep/pg.ts). */
#ifndef TRIPLINE_DEEP_PG_H
#define TRIPLINE_DEEP_PG_H

#define PG_QUERY_LEN 128
#define PG_KINDS 5 /* SELECT, INSERT, UPDATE, DELETE, OTHER */
#define PG_KIND_SELECT 0
#define PG_KIND_INSERT 1
#define PG_KIND_UPDATE 2
#define PG_KIND_DELETE 3
#define PG_KIND_OTHER 4
#define PG_EVENT_SIZE 152

/* One query at or over the threshold (raw text: user space strips the literals). */
struct pg_event {
	__u64 duration_ns;
	__u32 pid;
	__u32 kind;
	__u32 query_len; /* bytes read, including the NUL */
	__u32 pad;
	char query[PG_QUERY_LEN];
};

#ifdef __bpf__
_Static_assert(sizeof(struct pg_event) == PG_EVENT_SIZE, "pg_event layout");
#endif
#endif /* TRIPLINE_DEEP_PG_H */

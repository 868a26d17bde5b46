/* SPDX-License-Identifier: GPL-2.0 */
/* http (deep probe): kernel/user contract (bpf/deep/http.bpf.c, decoded by src/probes/deep/http.ts). */
#ifndef TRIPLINE_DEEP_HTTP_H
#define TRIPLINE_DEEP_HTTP_H

/* Bytes of the request path kept: up to the first ' ', '?', CR or LF (never the query, headers or body). */
#define HTTPD_PATH_LEN 64
#define HTTPD_EVENT_SIZE 112
#define HTTPD_THREAD_SIZE 48
#define HTTPD_REQ_SIZE 112

/* Methods: as HTTP_METHOD_* of counters/http.h, plus the ones OTHER folds there. */
#define HTTPD_GET 0
#define HTTPD_POST 1
#define HTTPD_PUT 2
#define HTTPD_DELETE 3
#define HTTPD_HEAD 4
#define HTTPD_PATCH 5
#define HTTPD_OPTIONS 6

/* One HTTP/1 request answered by a target thread (the path raw: user space masks ids). */
struct httpd_event {
	__u64 latency_ns;  /* request line read -> status line written */
	__u64 on_cpu_ns;   /* of that time, the reading thread ran */
	__u64 runq_ns;     /* ... waited for a CPU */
	__u64 blocked_ns;  /* ... slept (I/O, locks, timers, idle) */
	__u32 pid;         /* tgid */
	__u32 tid;         /* thread that read the request */
	__u16 status;      /* 100..599 */
	__u8 method;       /* HTTPD_* */
	__u8 path_len;
	__u32 pad;
	char path[HTTPD_PATH_LEN];
};

/* httpd_threads: HASH key __u32 tid -> struct httpd_thread: cumulative time of a thread that read a request. */
struct httpd_thread {
	__u64 on_cpu_ns;
	__u64 runq_ns;
	__u64 blocked_ns;
	__u64 in_ns;      /* switched in at, 0 when not running */
	__u64 off_ns;     /* switched out or woken at, 0 while running */
	__u32 off_state;  /* 1 blocked (since off_ns), 2 runnable (since off_ns) */
	__u32 pad;
};

/* httpd_reqs: HASH key __u64 tgid << 32 | fd -> struct httpd_req: the request being answered on a connection. */
struct httpd_req {
	__u64 start_ns;
	__u64 on_cpu_ns;   /* the thread's counters at the start */
	__u64 runq_ns;
	__u64 blocked_ns;
	__u32 tid;
	__u8 method;
	__u8 path_len;
	__u16 pad;
	__u64 pad2;
	char path[HTTPD_PATH_LEN];
};

#ifdef __bpf__
_Static_assert(sizeof(struct httpd_event) == HTTPD_EVENT_SIZE, "httpd_event layout");
_Static_assert(sizeof(struct httpd_thread) == HTTPD_THREAD_SIZE, "httpd_thread layout");
_Static_assert(sizeof(struct httpd_req) == HTTPD_REQ_SIZE, "httpd_req layout");
#endif
#endif /* TRIPLINE_DEEP_HTTP_H */

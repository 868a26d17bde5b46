// SPDX-License-Identifier: GPL-2.0
/*
 * http (deep probe, src/probes/deep/http.ts): the HTTP/1 requests the target serves, one record each with method,
 * path (up to the query; user space masks ids), status, latency, pid/tid, and how the reading thread spent that
 * time: on CPU, waiting for a CPU, or blocked. (bpf/counters/http.bpf.c is the always-on http family.)
 * Hooks (tp_btf, each with a raw_tp twin; userspace loads one set):
 *   raw_syscalls sys_exit  tld_http_exit: read/recvfrom of a request line by a target thread starts a request on
 *                          the fd; write/sendto/writev of a status line on that fd ends it (one record); close
 *                          forgets the fd. Pipelined requests after the first of a read are not recorded.
 *   sched_switch           tld_http_switch: on-CPU time, and whether a thread going off CPU blocked or was preempted,
 *                          for threads that read a request (httpd_threads)
 *   sched_wakeup           tld_http_wake: a blocked thread becomes runnable (its wait for a CPU starts)
 * Maps:
 *   httpd_reqs     HASH key __u64 tgid << 32 | fd -> struct httpd_req, 16384
 *   httpd_threads  HASH key __u32 tid -> struct httpd_thread, 4096
 *   httpd_events   RINGBUF 512 KiB of struct httpd_event
 *   + deep_target / target_pids / target_cgroups / deep_stats (deep_target.h)
 * Knobs (rodata): threshold_ns: requests at least this long are recorded.
 * Emits: one record per request at or over the threshold (budget: max_events).
 * Cost class: deep (every system call exit and context switch on the host; a request line read by a target pays the
 *   target check, the path copy and one record).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "tripline.h"
#include "deep_target.h"
#include "sys_exit.h"
#include "http.h"

TRIPLINE_EXPORT_TYPE(httpd_event);

#if defined(__TARGET_ARCH_x86)
#define NR_READ 0
#define NR_WRITE 1
#define NR_CLOSE 3
#define NR_WRITEV 20
#define NR_SENDTO 44
#define NR_RECVFROM 45
#elif defined(__TARGET_ARCH_arm64)
#define NR_CLOSE 57
#define NR_READ 63
#define NR_WRITE 64
#define NR_WRITEV 66
#define NR_SENDTO 206
#define NR_RECVFROM 207
#else
#error "deep/http.bpf.c: syscall numbers for this architecture are missing"
#endif

#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define OFF_BLOCKED 1
#define OFF_RUNNABLE 2

const volatile __u64 threshold_ns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct httpd_req);
} httpd_reqs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct httpd_thread);
} httpd_threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 512 * 1024);
} httpd_events SEC(".maps");

/* ---- thread time ---- */

static __always_inline void on_switch(bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 tid = BPF_CORE_READ(prev, pid);
	struct httpd_thread *th = bpf_map_lookup_elem(&httpd_threads, &tid);

	if (th) {
		if (th->in_ns)
			th->on_cpu_ns += now - th->in_ns;
		th->in_ns = 0;
		th->off_ns = now;
		th->off_state = (!preempt && BPF_CORE_READ(prev, __state) != 0) ? OFF_BLOCKED : OFF_RUNNABLE;
	}
	tid = BPF_CORE_READ(next, pid);
	th = bpf_map_lookup_elem(&httpd_threads, &tid);
	if (!th)
		return;
	if (th->off_ns) {
		if (th->off_state == OFF_RUNNABLE)
			th->runq_ns += now - th->off_ns;
		else
			th->blocked_ns += now - th->off_ns;
	}
	th->off_ns = 0;
	th->in_ns = now;
}

static __always_inline void on_wake(struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	struct httpd_thread *th = bpf_map_lookup_elem(&httpd_threads, &tid);
	__u64 now;

	if (!th || !th->off_ns || th->off_state != OFF_BLOCKED)
		return;
	now = bpf_ktime_get_ns();
	th->blocked_ns += now - th->off_ns;
	th->off_ns = now;
	th->off_state = OFF_RUNNABLE;
}

/* ---- requests ---- */

static __always_inline bool fd_is_socket(__u32 fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **fds;
	struct file *f = NULL;

	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return false;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return false;
	return (BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) == S_IFSOCK;
}

/* Method of a request line from its first 8 bytes and the offset of its path, or -1. */
static __always_inline int request_method(const char *b, __u32 *off)
{
	if (b[0] == 'G' && b[1] == 'E' && b[2] == 'T' && b[3] == ' ' && b[4] == '/')
		return *off = 4, HTTPD_GET;
	if (b[0] == 'P' && b[1] == 'O' && b[2] == 'S' && b[3] == 'T' && b[4] == ' ' && b[5] == '/')
		return *off = 5, HTTPD_POST;
	if (b[0] == 'P' && b[1] == 'U' && b[2] == 'T' && b[3] == ' ' && b[4] == '/')
		return *off = 4, HTTPD_PUT;
	if (b[0] == 'D' && b[1] == 'E' && b[2] == 'L' && b[3] == 'E' && b[4] == 'T' && b[5] == 'E' && b[6] == ' ' &&
	    b[7] == '/')
		return *off = 7, HTTPD_DELETE;
	if (b[0] == 'H' && b[1] == 'E' && b[2] == 'A' && b[3] == 'D' && b[4] == ' ' && b[5] == '/')
		return *off = 5, HTTPD_HEAD;
	if (b[0] == 'P' && b[1] == 'A' && b[2] == 'T' && b[3] == 'C' && b[4] == 'H' && b[5] == ' ' && b[6] == '/')
		return *off = 6, HTTPD_PATCH;
	if (b[0] == 'O' && b[1] == 'P' && b[2] == 'T' && b[3] == 'I' && b[4] == 'O' && b[5] == 'N' && b[6] == 'S' &&
	    b[7] == ' ')
		return *off = 8, HTTPD_OPTIONS;
	return -1;
}

/* The current thread's counters, created (running since now) on its first request. */
static __always_inline struct httpd_thread *thread_of(__u32 tid, __u64 now)
{
	struct httpd_thread *th = bpf_map_lookup_elem(&httpd_threads, &tid);
	struct httpd_thread init = { .in_ns = now };

	if (th)
		return th;
	if (bpf_map_update_elem(&httpd_threads, &tid, &init, BPF_NOEXIST) && bpf_map_lookup_elem(&httpd_threads, &tid) == NULL) {
		deep_count(DEEP_STAT_DROPPED);
		return NULL;
	}
	return bpf_map_lookup_elem(&httpd_threads, &tid);
}

static __always_inline void on_read(__u64 key, __u32 fd, __u64 buf, __u32 n)
{
	struct httpd_req req = {};
	struct httpd_thread *th;
	char b[16];
	__u32 off = 0, len, i;
	__u64 now, id;
	int m;

	if (n < sizeof(b) || bpf_probe_read_user(b, sizeof(b), (void *)buf))
		return;
	m = request_method(b, &off);
	if (m < 0 || !deep_is_target((struct task_struct *)bpf_get_current_task()) || !fd_is_socket(fd))
		return;
	now = bpf_ktime_get_ns();
	id = bpf_get_current_pid_tgid();
	th = thread_of((__u32)id, now);
	if (!th)
		return;
	req.start_ns = now;
	req.tid = (__u32)id;
	req.method = m;
	req.on_cpu_ns = th->on_cpu_ns + (th->in_ns ? now - th->in_ns : 0);
	req.runq_ns = th->runq_ns;
	req.blocked_ns = th->blocked_ns;
	len = n - off;
	if (len > HTTPD_PATH_LEN)
		len = HTTPD_PATH_LEN;
	if (len < 1 || bpf_probe_read_user(req.path, len & (HTTPD_PATH_LEN - 1) ? len & (HTTPD_PATH_LEN - 1) : HTTPD_PATH_LEN,
					   (void *)(buf + off)))
		return;
	/* Keep the path only: cut at the query, the version or the end of the line, and clear the rest. */
	for (i = 0; i < HTTPD_PATH_LEN; i++) {
		char c = req.path[i];

		if (i >= len || c == ' ' || c == '?' || c == '#' || c == '\r' || c == '\n' || c == 0)
			break;
	}
	req.path_len = i;
#pragma unroll
	for (int j = 0; j < HTTPD_PATH_LEN; j++)
		if (j >= i)
			req.path[j] = 0;
	if (bpf_map_update_elem(&httpd_reqs, &key, &req, BPF_ANY))
		deep_count(DEEP_STAT_DROPPED);
}

static __always_inline void on_write(__u64 key, __u64 buf, __u32 n)
{
	struct httpd_req *req = bpf_map_lookup_elem(&httpd_reqs, &key);
	struct httpd_thread *th;
	struct httpd_event *e;
	__u64 now, on, rq, bl;
	__u8 b[12];
	__u32 tid;
	int st;

	if (!req || n < sizeof(b) || bpf_probe_read_user(b, sizeof(b), (void *)buf))
		return;
	if (b[0] != 'H' || b[1] != 'T' || b[2] != 'T' || b[3] != 'P' || b[4] != '/' || b[5] != '1' || b[6] != '.' ||
	    b[8] != ' ' || b[9] < '1' || b[9] > '5' || b[10] < '0' || b[10] > '9' || b[11] < '0' || b[11] > '9')
		return;
	st = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
	if (st < 200 && st != 101)
		return; /* interim response: the final one follows */
	now = bpf_ktime_get_ns();
	tid = req->tid;
	th = bpf_map_lookup_elem(&httpd_threads, &tid);
	if (now - req->start_ns >= threshold_ns && deep_take_event()) {
		e = bpf_ringbuf_reserve(&httpd_events, sizeof(*e), 0);
		if (e) {
			on = th ? th->on_cpu_ns + (th->in_ns ? now - th->in_ns : 0) : 0;
			rq = th ? th->runq_ns + (th->off_ns && th->off_state == OFF_RUNNABLE ? now - th->off_ns : 0) : 0;
			bl = th ? th->blocked_ns + (th->off_ns && th->off_state == OFF_BLOCKED ? now - th->off_ns : 0) : 0;
			e->latency_ns = now - req->start_ns;
			e->on_cpu_ns = th && on > req->on_cpu_ns ? on - req->on_cpu_ns : 0;
			e->runq_ns = th && rq > req->runq_ns ? rq - req->runq_ns : 0;
			e->blocked_ns = th && bl > req->blocked_ns ? bl - req->blocked_ns : 0;
			e->pid = bpf_get_current_pid_tgid() >> 32;
			e->tid = tid;
			e->status = st;
			e->method = req->method;
			e->path_len = req->path_len;
			e->pad = 0;
			__builtin_memcpy(e->path, req->path, HTTPD_PATH_LEN);
			bpf_ringbuf_submit(e, 0);
		} else {
			deep_count(DEEP_STAT_DROPPED);
		}
	}
	bpf_map_delete_elem(&httpd_reqs, &key);
}

static __always_inline void on_exit(struct sc *a, long ret)
{
	__u64 key = (bpf_get_current_pid_tgid() & 0xFFFFFFFF00000000ULL) | (__u32)a->a0;
	struct iovec v;

	if (a->nr == NR_CLOSE) {
		if (!ret && bpf_map_lookup_elem(&httpd_reqs, &key))
			bpf_map_delete_elem(&httpd_reqs, &key);
		return;
	}
	if (ret <= 0)
		return;
	if (a->nr == NR_READ || a->nr == NR_RECVFROM)
		on_read(key, (__u32)a->a0, a->a1, (__u32)ret);
	else if (a->nr == NR_WRITEV) {
		if (a->a2 && !bpf_probe_read_user(&v, sizeof(v), (void *)a->a1))
			on_write(key, (__u64)v.iov_base, v.iov_len < (__u64)ret ? v.iov_len : ret);
	} else
		on_write(key, a->a1, (__u32)ret);
}

static __always_inline bool wanted(long nr)
{
	return nr == NR_READ || nr == NR_RECVFROM || nr == NR_WRITE || nr == NR_SENDTO || nr == NR_WRITEV ||
	       nr == NR_CLOSE;
}

SYS_EXIT_PROGRAMS(tld_http_exit, wanted, on_exit)

SEC("tp_btf/sched_switch")
int BPF_PROG(tld_http_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(preempt, prev, next);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(tld_http_wake, struct task_struct *p)
{
	on_wake(p);
	return 0;
}

/* raw_tp twins of the scheduler programs, the same bodies (sys_exit's twin comes with SYS_EXIT_PROGRAMS). */
SEC("raw_tp/sched_switch")
int BPF_PROG(tld_http_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	on_switch(preempt, prev, next);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(tld_http_wake_raw, struct task_struct *p)
{
	on_wake(p);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/*
 * syscalls (counter family, src/probes/counters/syscalls.ts): system call latency per syscall (system-wide) and per
 * (cgroup, syscall) for watched cgroups or pids. (bpf/deep/syscalls.bpf.c is the syscalls deep probe.)
 * Hooks: raw_syscalls sys_enter / sys_exit as tp_btf tlc_sys_enter / tlc_sys_exit, with raw_tp twins (userspace
 *        loads one set).
 * Maps:
 *   syscall_latency         PERCPU_ARRAY key __u32 nr -> struct hist, SYSCALLS_MAX_NR entries
 *   cgroup_syscall_latency  PERCPU_HASH  key struct cg_syscall_key -> struct hist, CG_SYSCALL_MAX
 *   syscall_watch_cg        HASH __u64 cgroup id -> __u8, SYSCALLS_WATCH_MAX (written by userspace); a watched
 *                           cgroup covers its descendants down to SYSCALLS_WATCH_DEPTH - 1 levels
 *   syscall_watch_pid       HASH __u32 tgid -> __u8, SYSCALLS_WATCH_MAX (written by userspace)
 *   syscall_watch_on        ARRAY 1 x __u32: number of watch entries, 0 skips the watch lookups
 *   cgroup_syscall_time     PERCPU_HASH  key __u64 cgroup id -> __u64 ns in syscalls, CG_SYSCALL_TIME_MAX
 *                           (userspace sets max_entries to counters.max_cgroups): the per-cgroup twin of
 *                           syscall_latency, every task's cpu cgroup, so a host-wide trip can name its contributors
 *   syscall_start           TASK_STORAGE -> struct syscall_start (current thread's pending syscall)
 *   syscalls_drops          PERCPU_ARRAY 1 x __u64 (maps.h)
 * Knobs: none (the watch lists are maps, changed at run time).
 * Emits: nothing per event; userspace reads the histograms and times each tick (cumulative).
 * Cost class: always-on (every system call on the host): the exit reads the cpu cgroup id with direct loads (tp_btf)
 *   and adds to one per-CPU hash value; the watch lookups run only while a watch list is set.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "maps.h"
#include "hist.h"
#include "cgroup.h"
#include "syscalls.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SYSCALLS_MAX_NR);
	__type(key, __u32);
	__type(value, struct hist);
} syscall_latency SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* memory per key seen, not max_entries x CPUs up front */
	__uint(max_entries, CG_SYSCALL_MAX);
	__type(key, struct cg_syscall_key);
	__type(value, struct hist);
} cgroup_syscall_latency SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, CG_SYSCALL_TIME_MAX);
	__type(key, __u64);
	__type(value, __u64);
} cgroup_syscall_time SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SYSCALLS_WATCH_MAX);
	__type(key, __u64);
	__type(value, __u8);
} syscall_watch_cg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SYSCALLS_WATCH_MAX);
	__type(key, __u32);
	__type(value, __u8);
} syscall_watch_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} syscall_watch_on SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct syscall_start);
} syscall_start SEC(".maps");

DROPS_MAP(syscalls_drops);

static const struct hist zero_hist;
static const __u64 zero_u64;

static __always_inline void enter(long id)
{
	struct syscall_start *s;

	if ((unsigned long)id >= SYSCALLS_MAX_NR) /* -1 (ptrace), x32 numbers */
		return;
	s = bpf_task_storage_get(&syscall_start, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!s)
		return;
	s->nr = id;
	s->ts = bpf_ktime_get_ns();
}

/*
 * True when the current task's process, its cpu cgroup `css` (id `own`) or one of that cgroup's
 * SYSCALLS_WATCH_DEPTH - 1 ancestors is on a watch list; sets *cgid to the watched cgroup (`own` for a watched pid).
 */
static __always_inline int watched(struct cgroup_subsys_state *css, __u64 own, __u64 *cgid)
{
	__u32 zero = 0, tgid;
	__u32 *on = bpf_map_lookup_elem(&syscall_watch_on, &zero);
	__u64 id;

	if (!on || !*on)
		return 0;
	*cgid = own;
	id = own; /* the task's own cgroup first, read once by the caller */
#pragma unroll
	for (int i = 0; i < SYSCALLS_WATCH_DEPTH; i++) {
		if (bpf_map_lookup_elem(&syscall_watch_cg, &id)) {
			*cgid = id;
			return 1;
		}
		css = css_parent(css, CGROUP_BTF);
		if (!css)
			break;
		id = css_cgroup_id(css, CGROUP_BTF);
	}
	tgid = bpf_get_current_pid_tgid() >> 32;
	return bpf_map_lookup_elem(&syscall_watch_pid, &tgid) != NULL;
}

static __always_inline void record_cgroup(__u64 cgid, __u32 nr, __u64 delta)
{
	struct cg_syscall_key key = { .cgroup_id = cgid, .nr = nr };
	struct hist *h = map_lookup_or_init(&cgroup_syscall_latency, &key, &zero_hist);

	if (!h) {
		count_drop(&syscalls_drops);
		return;
	}
	hist_add(h, delta);
}

static __always_inline void exit_(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct syscall_start *s = bpf_task_storage_get(&syscall_start, task, 0, 0);
	struct cgroup_subsys_state *css;
	struct hist *h;
	__u64 delta, cgid, own, *t;
	__u32 nr;

	if (!s || !s->ts)
		return;
	delta = bpf_ktime_get_ns() - s->ts;
	nr = s->nr;
	s->ts = 0;
	h = bpf_map_lookup_elem(&syscall_latency, &nr);
	if (h)
		hist_add(h, delta / SYSCALLS_UNIT_NS);
	/* The per-cgroup twin: the task's own cpu cgroup (the root's id for tasks in no group). */
	css = task_cpu_css(task, CGROUP_BTF);
	own = css_cgroup_id(css, CGROUP_BTF);
	t = map_lookup_or_init(&cgroup_syscall_time, &own, &zero_u64);
	if (t)
		*t += delta;
	else
		count_drop(&syscalls_drops);
	if (watched(css, own, &cgid))
		record_cgroup(cgid, nr, delta / SYSCALLS_UNIT_NS);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(tlc_sys_enter, struct pt_regs *regs, long id)
{
	enter(id);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tlc_sys_exit, struct pt_regs *regs, long ret)
{
	exit_();
	return 0;
}

/* raw_tp twins: same bodies; the task comes from bpf_get_current_task_btf(), which raw_tp has too. */
SEC("raw_tp/sys_enter")
int BPF_PROG(tlc_sys_enter_raw, struct pt_regs *regs, long id)
{
	enter(id);
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(tlc_sys_exit_raw, struct pt_regs *regs, long ret)
{
	exit_();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

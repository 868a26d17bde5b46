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
 *   cgroup_syscall_slow     PERCPU_HASH  key __u64 cgroup id -> __u64 slow calls, CG_SYSCALL_SLOW_MAX (userspace
 *                           sets counters.max_cgroups): the per-cgroup twin of syscall_latency, every task's cpu
 *                           cgroup, so a host-wide trip can name its contributors: calls of a syscall in
 *                           syscall_twin_mask that took syscall_slow_ns or longer
 *   syscall_twin_mask       ARRAY 1 x struct syscall_mask: bit nr set = syscall nr counts in the twin (written by
 *                           userspace: file and storage syscalls, not waits like epoll_wait or futex)
 *   syscall_start           TASK_STORAGE -> struct syscall_start (current thread's pending syscall)
 *   syscalls_drops          PERCPU_ARRAY 1 x __u64 (maps.h)
 * Knobs: syscall_slow_ns (counters.syscall_slow_threshold). The watch lists are maps, changed at run time.
 * Emits: nothing per event; userspace reads the histograms and times each tick (cumulative).
 * Cost class: always-on (every system call on the host): the exit tests one bit of an inlined array lookup; only a
 *   slow call of a twin syscall reads the cgroup id and adds to a per-CPU hash value; the watch lookups run only
 *   while a watch list is set.
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
	__uint(max_entries, CG_SYSCALL_SLOW_MAX);
	__type(key, __u64);
	__type(value, __u64);
} cgroup_syscall_slow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct syscall_mask);
} syscall_twin_mask SEC(".maps");

const volatile __u64 syscall_slow_ns = 1000000;

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
 * True when the current task's process, its cpu cgroup or one of that cgroup's SYSCALLS_WATCH_DEPTH - 1 ancestors
 * is on a watch list; sets *cgid to the watched cgroup (the task's own for a watched pid).
 */
static __always_inline int watched(struct task_struct *task, __u64 *cgid)
{
	__u32 zero = 0, tgid;
	__u32 *on = bpf_map_lookup_elem(&syscall_watch_on, &zero);
	struct cgroup_subsys_state *css;
	__u64 id;

	if (!on || !*on)
		return 0;
	css = task_cpu_css(task, CGROUP_BTF);
	*cgid = css_cgroup_id(css, CGROUP_BTF);
#pragma unroll
	for (int i = 0; i < SYSCALLS_WATCH_DEPTH; i++) {
		if (!css)
			break;
		id = css_cgroup_id(css, CGROUP_BTF);
		if (bpf_map_lookup_elem(&syscall_watch_cg, &id)) {
			*cgid = id;
			return 1;
		}
		css = css_parent(css, CGROUP_BTF);
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

/* The per-cgroup twin: one more slow call of a twin syscall for the task's own cpu cgroup. */
static __always_inline void record_slow(struct task_struct *task, __u32 nr, __u64 delta)
{
	__u32 zero = 0;
	struct syscall_mask *mask = bpf_map_lookup_elem(&syscall_twin_mask, &zero);
	__u64 own, *n;

	if (delta < syscall_slow_ns || !mask || !((mask->bits[(nr >> 6) & (SYSCALLS_MASK_WORDS - 1)] >> (nr & 63)) & 1))
		return;
	own = task_cpu_cgroup_id(task, CGROUP_BTF);
	n = map_lookup_or_init(&cgroup_syscall_slow, &own, &zero_u64);
	if (n)
		(*n)++;
	else
		count_drop(&syscalls_drops);
}

static __always_inline void exit_(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct syscall_start *s = bpf_task_storage_get(&syscall_start, task, 0, 0);
	struct hist *h;
	__u64 delta, cgid;
	__u32 nr;

	if (!s || !s->ts)
		return;
	delta = bpf_ktime_get_ns() - s->ts;
	nr = s->nr;
	s->ts = 0;
	h = bpf_map_lookup_elem(&syscall_latency, &nr);
	if (h)
		hist_add(h, delta / SYSCALLS_UNIT_NS);
	record_slow(task, nr, delta);
	if (watched(task, &cgid))
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

// SPDX-License-Identifier: GPL-2.0
/*
 * runq (counter family, src/probes/counters/runq.ts): run-queue delay per cpu cgroup.
 * Hooks (tp_btf, each with a raw_tp twin; userspace loads one set, by feature detection):
 *   sched_wakeup, sched_wakeup_new  tlc_runq_wake, tlc_runq_new: enqueue time of the woken task
 *   sched_switch                    tlc_runq_switch: prev still queued (preempted or TASK_RUNNING): enqueue time of
 *                                   prev; next: delay = now - enqueue time, into next's cpu cgroup
 * Maps:
 *   runq_delay      PERCPU_HASH  key __u64 cgroup id -> struct runq_val (runq.h), max = max_cgroups (set by userspace)
 *   runq_start      TASK_STORAGE task -> __u64 enqueue ns (tp_btf programs)
 *   runq_start_new  ARRAY RUNQ_START_NEW_SLOTS x struct runq_new (runq.h), slot pid % RUNQ_START_NEW_SLOTS: enqueue
 *                   time of a new task not yet run (tp_btf; see enqueue_new_btf()); 1 slot with the raw_tp twins
 *   runq_start_pid  HASH key __u32 pid -> __u64 enqueue ns, RUNQ_START_PID_MAX (raw_tp twins; 1 entry with tp_btf)
 *   runq_drops      PERCPU_ARRAY 1 x __u64 (maps.h): delays lost because a map was full
 * Knobs (rodata): runq_threshold_ns (default 5 ms).
 * Emits: nothing per event; userspace reads runq_delay each tick (cumulative).
 * Cost class: always-on (every wakeup and context switch on the host).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "maps.h"
#include "hist.h"
#include "cgroup.h"
#include "runq.h"

#define TASK_RUNNING 0

const volatile __u64 runq_threshold_ns = 5000000;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* memory per key seen, not max_entries x CPUs up front */
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, struct runq_val);
} runq_delay SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} runq_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RUNQ_START_NEW_SLOTS);
	__type(key, __u32);
	__type(value, struct runq_new);
} runq_start_new SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RUNQ_START_PID_MAX);
	__type(key, __u32);
	__type(value, __u64);
} runq_start_pid SEC(".maps");

DROPS_MAP(runq_drops);

static const struct runq_val zero_val;

/* Adds one delay to the cgroup's histogram; counts a drop when the map is full. */
static __always_inline void record(__u64 cgid, __u64 delta_ns)
{
	struct runq_val *v = map_lookup_or_init(&runq_delay, &cgid, &zero_val);

	if (!v) {
		count_drop(&runq_drops);
		return;
	}
	hist_add(&v->delay, hist_div1000(delta_ns)); /* RUNQ_UNIT_NS */
	if (delta_ns > runq_threshold_ns)
		v->over++;
}

/* ---- tp_btf: task storage keyed by the task itself (no hash, no pid reuse) ---- */

/* Sets the enqueue time of p (not the idle task) to now, and returns now. */
static __always_inline __u64 enqueue_btf(struct task_struct *p)
{
	__u64 *ts = bpf_task_storage_get(&runq_start, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	__u64 now = bpf_ktime_get_ns(); /* after the lookup: ~1.5 ns cheaper here than before it */

	if (ts)
		*ts = now;
	return now;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(tlc_runq_wake, struct task_struct *p)
{
	if (p->pid) /* not the idle task */
		enqueue_btf(p);
	return 0;
}

/*
 * A new task has no task storage yet, and creating it (an allocation) would make fork pay ~3x more. A hash keyed by
 * pid measured ~240 ns per update here (it is touched only at fork, so it runs cold), so new tasks get a slot of an
 * array instead, indexed by pid (an inlined lookup, one cache line): sched_switch looks there only when the task has
 * no storage, and frees the slot. Two new tasks share a slot only when their pids differ by a multiple of
 * RUNQ_START_NEW_SLOTS and the first has not run yet when the second is woken; the first one's delay is then lost,
 * and counted as a drop.
 */
static __always_inline void enqueue_new_btf(struct task_struct *p)
{
	__u32 pid = p->pid, slot = pid & (RUNQ_START_NEW_SLOTS - 1);
	struct runq_new *n = bpf_map_lookup_elem(&runq_start_new, &slot);

	if (!n)
		return;
	if (n->pid)
		count_drop(&runq_drops);
	n->ts = bpf_ktime_get_ns();
	n->pid = pid;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(tlc_runq_new, struct task_struct *p)
{
	enqueue_new_btf(p);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(tlc_runq_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u64 *ts, now = 0;

	/*
	 * Still queued: preempted (stays on the run queue whatever its state) or switched out while TASK_RUNNING.
	 * The prev_state argument exists since 5.18 (fa2c3254d7cf). One clock read serves prev's enqueue time and
	 * next's delay.
	 */
	if ((preempt || prev_state == TASK_RUNNING) && prev->pid)
		now = enqueue_btf(prev);
	if (!next->pid)
		return 0;
	/* No CREATE: a task without storage is new (its enqueue time is in runq_start_new) or was not seen waking. */
	ts = bpf_task_storage_get(&runq_start, next, 0, 0);
	if (!ts) {
		__u32 pid = next->pid, slot = pid & (RUNQ_START_NEW_SLOTS - 1);
		struct runq_new *n = bpf_map_lookup_elem(&runq_start_new, &slot);

		if (!n || n->pid != pid)
			return 0;
		if (!now)
			now = bpf_ktime_get_ns();
		record(task_cpu_cgroup_id(next, CGROUP_BTF), now - n->ts);
		n->pid = 0;
		return 0;
	}
	if (!*ts)
		return 0;
	if (!now)
		now = bpf_ktime_get_ns();
	record(task_cpu_cgroup_id(next, CGROUP_BTF), now - *ts);
	*ts = 0;
	return 0;
}

/* ---- raw_tp twin: untyped task pointers, so a pid-keyed hash and CO-RE probe reads ---- */

static __always_inline void enqueue_raw(struct task_struct *p)
{
	__u32 pid = BPF_CORE_READ(p, pid);
	__u64 now;

	if (!pid)
		return;
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&runq_start_pid, &pid, &now, BPF_ANY);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(tlc_runq_wake_raw, struct task_struct *p)
{
	enqueue_raw(p);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(tlc_runq_new_raw, struct task_struct *p)
{
	enqueue_raw(p);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(tlc_runq_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u32 pid;
	__u64 *ts;

	if (preempt || prev_state == TASK_RUNNING)
		enqueue_raw(prev);
	pid = BPF_CORE_READ(next, pid);
	if (!pid)
		return 0;
	ts = bpf_map_lookup_elem(&runq_start_pid, &pid);
	if (!ts)
		return 0;
	record(task_cpu_cgroup_id(next, CGROUP_CORE), bpf_ktime_get_ns() - *ts);
	bpf_map_delete_elem(&runq_start_pid, &pid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

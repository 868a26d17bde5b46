// SPDX-License-Identifier: GPL-2.0
/*
 * runqslower (deep probe, src/probes/deep/runqslower.ts): each scheduling delay of the target above a threshold,
 * with the tasks that held that CPU during the wait (the noisy neighbours) and their cgroups.
 * Hooks (tp_btf, each with a raw_tp twin; userspace loads one set, the tp_btf set only with task storage):
 *   sched_wakeup, sched_wakeup_new  tld_rqs_wake, tld_rqs_new: enqueue time of a woken target task
 *   sched_switch                    tld_rqs_switch: a target prev still runnable is queued again; next's wait ends
 *                                   (an event when over the threshold); next becomes this CPU's latest slot
 *   Neighbours: at the switch that ends a wait, the per-CPU history is walked back and every task whose run
 *   overlaps the wait is reported with its share of it (the idle task and the waiting task itself are skipped; its
 *   sibling threads are reported: waiting behind them is self-contention).
 * Maps:
 *   runq_enqueued  TASK_STORAGE task -> __u64 enqueue ns, 0 when not queued (tp_btf programs: freed with the task,
 *                  no pid reuse, like the runq counter family)
 *   runq_enq_pid   HASH key __u32 pid -> __u64 enqueue ns, 10240 (raw_tp twins: their task pointers are untyped,
 *                  and task storage needs a BTF one)
 *   runq_cpu_hist  PERCPU_ARRAY 1 x struct cpu_hist: the last RUNQ_SLOTS tasks switched in on each CPU
 *   runq_events    RINGBUF 256 KiB of struct runqslower_event
 *   + deep_target / target_pids / deep_stats (deep_target.h)
 * Knobs (rodata): threshold_ns: delays shorter than this are not reported.
 * Emits: one record per delay over the threshold (budget: max_events; reserve failures are drops).
 * Cost class: deep (every wakeup and context switch on the host).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "tripline.h"
#include "deep_target.h"
#include "runqslower.h"

TRIPLINE_EXPORT_TYPE(runqslower_event);

#define RUNQ_SLOTS 8 /* power of two: the index is masked */

const volatile __u64 threshold_ns = 1000000;

struct slot {
	__u32 pid;
	__u32 tgid;
	__u64 cgroup_id;
	__u64 start_ns;
	char comm[RUNQSLOWER_COMM_LEN];
};

struct cpu_hist {
	__u32 head; /* index of the most recent slot */
	__u32 pad;
	struct slot slots[RUNQ_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* required for task storage */
	__type(key, int);
	__type(value, __u64);
} runq_enqueued SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} runq_enq_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_hist);
} runq_cpu_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} runq_events SEC(".maps");

/*
 * Records when target task p was queued. `btf` (a constant after inlining): p is a BTF pointer and the time goes
 * into its task storage; else p is untyped and the time goes into the pid hash.
 */
static __always_inline void enqueue(struct task_struct *p, bool btf)
{
	__u32 pid = BPF_CORE_READ(p, pid);
	__u64 now, *ts;

	if (!pid || !deep_is_target(p))
		return;
	now = bpf_ktime_get_ns();
	if (btf) {
		ts = bpf_task_storage_get(&runq_enqueued, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (ts)
			*ts = now;
		else
			deep_count(DEEP_STAT_ERRORS); /* no memory for the task's storage: this wait is not seen */
	} else {
		bpf_map_update_elem(&runq_enq_pid, &pid, &now, BPF_ANY);
	}
}

/* Takes the enqueue time of task t (pid `pid`) out of the per-task state; 0 when it was not queued by a target. */
static __always_inline __u64 dequeue(struct task_struct *t, __u32 pid, bool btf)
{
	__u64 *ts, enq;

	if (btf) {
		/* No CREATE: a task without storage was never queued as a target. */
		ts = bpf_task_storage_get(&runq_enqueued, t, 0, 0);
		if (!ts)
			return 0;
		enq = *ts;
		*ts = 0;
		return enq;
	}
	ts = bpf_map_lookup_elem(&runq_enq_pid, &pid);
	if (!ts)
		return 0;
	enq = *ts;
	bpf_map_delete_elem(&runq_enq_pid, &pid);
	return enq;
}

static __always_inline void report(struct cpu_hist *h, struct task_struct *next, __u32 pid, __u64 enq, __u64 now)
{
	struct runqslower_event *e;
	__u64 end = now; /* the most recent slot (prev) ran until now */
	__u32 n = 0;

	if (!deep_take_event())
		return;
	e = bpf_ringbuf_reserve(&runq_events, sizeof(*e), 0);
	if (!e) {
		deep_count(DEEP_STAT_DROPPED);
		return;
	}
	e->delay_ns = now - enq;
	e->pid = pid;
	e->tgid = BPF_CORE_READ(next, tgid);
	e->cpu = bpf_get_smp_processor_id();
	BPF_CORE_READ_STR_INTO(&e->comm, next, comm);
	/* Ring buffer memory is not zeroed: clear the neighbour slots so unused ones read as zero. */
	__builtin_memset(e->nb, 0, sizeof(e->nb));
	for (int i = 0; i < RUNQ_SLOTS; i++) {
		struct slot *s = &h->slots[(h->head - i) & (RUNQ_SLOTS - 1)];
		__u64 start = s->start_ns, from;

		if (!start || end <= enq)
			break;
		from = start > enq ? start : enq;
		if (s->pid && s->pid != pid && end > from && n < RUNQSLOWER_MAX_NB) {
			struct runqslower_nb *nb = &e->nb[n & (RUNQSLOWER_MAX_NB - 1)];

			nb->pid = s->pid;
			nb->tgid = s->tgid;
			nb->cgroup_id = s->cgroup_id;
			nb->ran_ns = end - from;
			__builtin_memcpy(nb->comm, s->comm, RUNQSLOWER_COMM_LEN);
			n++;
		}
		end = start;
	}
	e->nb_count = n;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int on_switch(bool preempt, struct task_struct *prev, struct task_struct *next, bool btf)
{
	__u64 now = bpf_ktime_get_ns(), enq;
	__u32 zero = 0, next_pid;
	struct cpu_hist *h;
	struct slot *s;

	/* 1. A target preempted while runnable goes straight back on the run queue. */
	if (preempt || BPF_CORE_READ(prev, __state) == 0)
		enqueue(prev, btf);

	/* 2. The switch ends the wait of next: report it against this CPU's recent history. */
	h = bpf_map_lookup_elem(&runq_cpu_hist, &zero);
	if (!h)
		return 0;
	next_pid = BPF_CORE_READ(next, pid);
	enq = next_pid ? dequeue(next, next_pid, btf) : 0;
	if (enq && now - enq >= threshold_ns)
		report(h, next, next_pid, enq, now);

	/* 3. Record next as the task now running on this CPU. */
	h->head = (h->head + 1) & (RUNQ_SLOTS - 1);
	s = &h->slots[h->head & (RUNQ_SLOTS - 1)];
	s->pid = next_pid;
	s->tgid = BPF_CORE_READ(next, tgid);
	s->cgroup_id = task_cpu_cgroup_id(next, CGROUP_CORE);
	s->start_ns = now;
	BPF_CORE_READ_STR_INTO(&s->comm, next, comm);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(tld_rqs_wake, struct task_struct *p)
{
	enqueue(p, true);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(tld_rqs_new, struct task_struct *p)
{
	enqueue(p, true);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(tld_rqs_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(preempt, prev, next, true);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(tld_rqs_wake_raw, struct task_struct *p)
{
	enqueue(p, false);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(tld_rqs_new_raw, struct task_struct *p)
{
	enqueue(p, false);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(tld_rqs_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(preempt, prev, next, false);
}

char LICENSE[] SEC("license") = "GPL";

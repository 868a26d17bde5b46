// SPDX-License-Identifier: Apache-2.0
/*
 * runqslower (deep probe): each scheduling delay of the target above a threshold, with the tasks that held
 * that CPU during the wait (the noisy neighbours) and their cgroups.
 * Hooks: tp_btf/sched_wakeup, tp_btf/sched_wakeup_new, tp_btf/sched_switch (raw_tp twins).
 * Maps:  runq_enqueued HASH tid -> enqueue ns (max 10240)
 *        runq_cpu_hist PERCPU_ARRAY[1] the last RUNQ_SLOTS tasks switched in on each CPU, with their start ns
 *        runq_events   RINGBUF 256 KiB of struct runqslower_event
 *        + deep_target / target_pids / deep_stats (deep_target.h)
 * Knobs: threshold_ns — delays shorter than this are not reported.
 * Neighbours: at the switch that ends a wait, the per-CPU history is walked back and every task whose run
 * overlaps the wait is reported with its share of it (the idle task and the target itself are skipped).
 * Events: one ring buffer record per delay over the threshold (budget: max_events; reserve failures are drops).
 * Cost class: deep (every wakeup and context switch on the host).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "tripline.h"
#include "deep_target.h"
#include "runqslower.h"

char LICENSE[] SEC("license") = "GPL";

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
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} runq_enqueued SEC(".maps");

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

static __always_inline void enqueue(struct task_struct *p)
{
	__u32 pid = BPF_CORE_READ(p, pid);
	if (!pid || !deep_is_target(p))
		return;
	__u64 now = bpf_ktime_get_ns();
	bpf_map_update_elem(&runq_enqueued, &pid, &now, BPF_ANY);
}

static __always_inline void report(struct cpu_hist *h, struct task_struct *next, __u32 pid, __u64 enq, __u64 now)
{
	if (!deep_take_event())
		return;
	struct runqslower_event *e = bpf_ringbuf_reserve(&runq_events, sizeof(*e), 0);
	if (!e) {
		deep_count(DEEP_STAT_DROPPED);
		return;
	}
	e->delay_ns = now - enq;
	e->pid = pid;
	e->tgid = BPF_CORE_READ(next, tgid);
	e->cpu = bpf_get_smp_processor_id();
	BPF_CORE_READ_STR_INTO(&e->comm, next, comm);
	// Ring buffer memory is not zeroed: clear the neighbour slots so unused ones read as zero.
	__builtin_memset(e->nb, 0, sizeof(e->nb));
	__u32 n = 0;
	__u64 end = now; /* the most recent slot (prev) ran until now */
	for (int i = 0; i < RUNQ_SLOTS; i++) {
		struct slot *s = &h->slots[(h->head - i) & (RUNQ_SLOTS - 1)];
		__u64 start = s->start_ns;
		if (!start || end <= enq)
			break;
		__u64 from = start > enq ? start : enq;
		if (s->pid && s->tgid != e->tgid && end > from && n < RUNQSLOWER_MAX_NB) {
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

static __always_inline int on_switch(bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 zero = 0;

	// 1. A target preempted while runnable goes straight back on the run queue.
	if (preempt || BPF_CORE_READ(prev, __state) == 0)
		enqueue(prev);

	// 2. The switch ends the wait of next: report it against this CPU's recent history.
	struct cpu_hist *h = bpf_map_lookup_elem(&runq_cpu_hist, &zero);
	if (!h)
		return 0;
	__u32 next_pid = BPF_CORE_READ(next, pid);
	__u64 *enq = bpf_map_lookup_elem(&runq_enqueued, &next_pid);
	if (enq) {
		__u64 t = *enq;
		bpf_map_delete_elem(&runq_enqueued, &next_pid);
		if (now - t >= threshold_ns)
			report(h, next, next_pid, t, now);
	}

	// 3. Record next as the task now running on this CPU.
	h->head = (h->head + 1) & (RUNQ_SLOTS - 1);
	struct slot *s = &h->slots[h->head & (RUNQ_SLOTS - 1)];
	s->pid = next_pid;
	s->tgid = BPF_CORE_READ(next, tgid);
	s->cgroup_id = deep_task_cgroup_id(next);
	s->start_ns = now;
	BPF_CORE_READ_STR_INTO(&s->comm, next, comm);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(runq_wakeup, struct task_struct *p) { enqueue(p); return 0; }

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(runq_wakeup_new, struct task_struct *p) { enqueue(p); return 0; }

SEC("tp_btf/sched_switch")
int BPF_PROG(runq_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(preempt, prev, next);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(runq_wakeup_raw, struct task_struct *p) { enqueue(p); return 0; }

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(runq_wakeup_new_raw, struct task_struct *p) { enqueue(p); return 0; }

SEC("raw_tp/sched_switch")
int BPF_PROG(runq_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(preempt, prev, next);
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Target filter and budget shared by every deep probe (bpf/deep/<probe>.bpf.c includes it after vmlinux.h and
 * <bpf/bpf_core_read.h>; it brings cgroup.h).
 * Contract with src/probes/deep/target-map.ts:
 *   deep_target  ARRAY[1]   struct deep_target      written by start() before attach
 *   target_pids  HASH[1024] __u32 tgid -> __u8 1    the pids of the target
 *   target_cgroups HASH[8]  __u64 cgroup id -> __u8 1  further target cgroups (the top contributors of a host-wide
 *                                                   trip), used when use_cgroups = 1
 *   deep_stats   ARRAY[4]   __u64                   DEEP_STAT_EVENTS, _DROPPED, _ERRORS
 * A task matches when its tgid is in target_pids (or, with match_children, its parent's tgid is), or when its
 * cpu-controller cgroup or one of its ancestors (up to DEEP_CGROUP_DEPTH levels) has inode cgroup_id or is in
 * target_cgroups; with host_wide = 1 every task matches (the budget still bounds what is recorded).
 * Nothing matches until start() sets active = 1, so a prepared object costs nothing.
 */
#ifndef TRIPLINE_DEEP_TARGET_H
#define TRIPLINE_DEEP_TARGET_H

#include "cgroup.h"

#define DEEP_TARGET_SIZE 40
#define DEEP_MAX_PIDS 1024
#define DEEP_MAX_CGROUPS 8
#define DEEP_CGROUP_DEPTH 8
#define DEEP_STAT_EVENTS 0
#define DEEP_STAT_DROPPED 1
#define DEEP_STAT_ERRORS 2
#define DEEP_STATS 4

struct deep_target {
	__u64 cgroup_id;      /* inode of the cpu cgroup dir; 0 = no cgroup filter */
	__u64 max_events;     /* events recorded before the probe only counts drops; 0 = unlimited */
	__u64 deadline_ns;    /* bpf_ktime_get_ns() after which nothing is recorded; 0 = none */
	__u32 active;         /* 0 until start() */
	__u32 use_pids;       /* 1 = target_pids holds the target's pids */
	__u32 match_children; /* 1 = a task whose parent is a target pid matches too (forking servers) */
	__u16 use_cgroups;    /* 1 = target_cgroups holds further target cgroups */
	__u16 host_wide;      /* 1 = every task matches */
};
_Static_assert(sizeof(struct deep_target) == DEEP_TARGET_SIZE, "deep_target layout");

#ifndef TRIPLINE_DEEP_TARGET_NO_MAPS
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct deep_target);
} deep_target SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DEEP_MAX_PIDS);
	__type(key, __u32);
	__type(value, __u8);
} target_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DEEP_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, __u8);
} target_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DEEP_STATS);
	__type(key, __u32);
	__type(value, __u64);
} deep_stats SEC(".maps");

static __always_inline struct deep_target *deep_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&deep_target, &zero);
}

static __always_inline void deep_count(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&deep_stats, &stat);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/* True when task t (any pointer: read with CO-RE probe reads) belongs to the target. */
static __always_inline bool deep_is_target(struct task_struct *t)
{
	struct deep_target *cfg = deep_cfg();

	if (!cfg || !cfg->active)
		return false;
	if (cfg->host_wide)
		return true;
	if (cfg->use_pids) {
		__u32 tgid = BPF_CORE_READ(t, tgid);

		if (bpf_map_lookup_elem(&target_pids, &tgid))
			return true;
		if (cfg->match_children) {
			__u32 ptgid = BPF_CORE_READ(t, real_parent, tgid);

			if (bpf_map_lookup_elem(&target_pids, &ptgid))
				return true;
		}
	}
	if (cfg->cgroup_id || cfg->use_cgroups) {
		struct cgroup_subsys_state *css = task_cpu_css(t, CGROUP_CORE);
		__u64 id;

		/* Walk up so a target cgroup covers its children (a pod covers its containers). */
		for (int i = 0; i < DEEP_CGROUP_DEPTH && css; i++) {
			id = css_cgroup_id(css, CGROUP_CORE);
			if (id == cfg->cgroup_id || (cfg->use_cgroups && bpf_map_lookup_elem(&target_cgroups, &id)))
				return true;
			css = css_parent(css, CGROUP_CORE);
		}
	}
	return false;
}

/*
 * Takes one event from the budget: false (and a drop counted) past max_events or the deadline. The check and the
 * add are two steps (a fetching atomic needs BPF v3 atomics, kernel 5.12): CPUs racing at the boundary may each
 * take the last event, so a probe records at most max_events + (CPUs - 1).
 */
static __always_inline bool deep_take_event(void)
{
	struct deep_target *cfg = deep_cfg();
	__u32 k = DEEP_STAT_EVENTS;
	__u64 *events = bpf_map_lookup_elem(&deep_stats, &k);

	if (!cfg || !events)
		return false;
	if ((cfg->deadline_ns && bpf_ktime_get_ns() > cfg->deadline_ns) ||
	    (cfg->max_events && *events >= cfg->max_events)) {
		deep_count(DEEP_STAT_DROPPED);
		return false;
	}
	__sync_fetch_and_add(events, 1);
	return true;
}
#endif /* !TRIPLINE_DEEP_TARGET_NO_MAPS */
#endif /* TRIPLINE_DEEP_TARGET_H */

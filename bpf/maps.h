/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Map helpers shared by every BPF program: lookup-or-init of a map entry and per-CPU drop counters.
 * Include after vmlinux.h and <bpf/bpf_helpers.h>.
 */
#ifndef TRIPLINE_MAPS_H
#define TRIPLINE_MAPS_H

/*
 * Defines a drop counter: PERCPU_ARRAY of one __u64 per CPU (plain adds, userspace sums the CPUs). Every counter
 * family has one, `<stem>_drops`, read into its stats.
 */
#define DROPS_MAP(name) \
	struct { \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); \
		__uint(max_entries, 1); \
		__type(key, __u32); \
		__type(value, __u64); \
	} name SEC(".maps")

/* Adds one to a drop counter defined with DROPS_MAP. */
static __always_inline void count_drop(void *drops)
{
	__u32 zero = 0;
	__u64 *d = bpf_map_lookup_elem(drops, &zero);

	if (d)
		(*d)++;
}

/*
 * The value of `key` in a hash map, created from `init` when absent; NULL when the map is full (the caller counts
 * the drop). The insert is BPF_NOEXIST: another CPU may create the entry between the lookup and the insert, and
 * the second lookup then finds that one, so a racing CPU never resets a value already counted into.
 */
static __always_inline void *map_lookup_or_init(void *map, const void *key, const void *init)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

#endif /* TRIPLINE_MAPS_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Log2 histograms shared by the counter families and deep probes (kernel side and its TypeScript mirror,
 * src/probes/decode/hist.ts). Kept in per-CPU maps (plain adds, userspace sums CPUs) created with
 * BPF_F_NO_PREALLOC: memory is keys seen x possible CPUs x HIST_SIZE, e.g. 1,000 cgroups on 64 CPUs = 17 MB,
 * instead of max_entries x CPUs reserved up front.
 *
 * Slot i holds values in [2^(i-1), 2^i) of the family's unit; slot 0 holds 0; the last slot holds
 * everything from 2^(HIST_SLOTS-2) up (exported as +Inf). `sum` is the total of observed values in
 * the same unit, so exported sums are exact, not estimated from bucket midpoints.
 *
 * log2 is computed with shifts: clang 14 crashes on __builtin_clzll for the BPF target.
 * Include after vmlinux.h (fixed-width __u64/__u32 come from there).
 */
#ifndef TRIPLINE_HIST_H
#define TRIPLINE_HIST_H

#define HIST_SLOTS 32
#define HIST_SIZE ((HIST_SLOTS + 1) * 8) /* slots + sum, bytes */

struct hist {
	__u64 slots[HIST_SLOTS];
	__u64 sum;
};
_Static_assert(sizeof(struct hist) == HIST_SIZE, "struct hist size");
_Static_assert((HIST_SLOTS & (HIST_SLOTS - 1)) == 0, "HIST_SLOTS must be a power of two");

#ifdef __bpf__
/* floor(log2(v)) for v > 0, branch-free binary search over the bit width. */
static __always_inline __u32 hist_log2(__u64 v)
{
	__u32 r = 0, s;

	s = (v > 0xFFFFFFFFULL) << 5;
	v >>= s;
	r |= s;
	s = (v > 0xFFFF) << 4;
	v >>= s;
	r |= s;
	s = (v > 0xFF) << 3;
	v >>= s;
	r |= s;
	s = (v > 0xF) << 2;
	v >>= s;
	r |= s;
	s = (v > 0x3) << 1;
	v >>= s;
	r |= s;
	r |= (__u32)(v >> 1);
	return r;
}

/* Slot of a value: 0 for 0, else floor(log2(v)) + 1, clamped to the last slot. */
static __always_inline __u32 hist_slot(__u64 v)
{
	__u32 slot = v ? hist_log2(v) + 1 : 0;

	return slot < HIST_SLOTS ? slot : HIST_SLOTS - 1;
}

/*
 * v / 1000, exact, for families counting in microseconds: below 2^32 a multiply and a shift (n * ceil(2^38 / 1000)
 * >> 38 equals n / 1000 for every n < 2^32), above it the division. The JIT turns a division into the CPU's divide.
 */
static __always_inline __u64 hist_div1000(__u64 v)
{
	return v < 0x100000000ULL ? (v * 274877907ULL) >> 38 : v / 1000;
}

/* Adds one observation. `h` must be a per-CPU map value (plain adds, no atomics). */
static __always_inline void hist_add(struct hist *h, __u64 v)
{
	__u32 slot = hist_slot(v);

	/*
	 * clang 14 indexes with a copy of `slot` taken before the clamp in hist_slot() and drops a plain
	 * mask as redundant; the empty asm hides the value so the mask stays and bounds it for the verifier.
	 */
	asm volatile("" : "+r"(slot));
	h->slots[slot & (HIST_SLOTS - 1)]++;
	h->sum += v;
}
#endif /* __bpf__ */

#endif /* TRIPLINE_HIST_H */

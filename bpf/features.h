/* SPDX-License-Identifier: GPL-2.0 */
/* features: the kernel/user contract of the runtime self-test (src/probes/features.ts). */
#ifndef TRIPLINE_FEATURES_H
#define TRIPLINE_FEATURES_H

#define SELFTEST_EVENT_SIZE 16

struct selftest_event {
	__u32 tgid;
	__u32 syscall;
	__u64 ts_ns;
};

_Static_assert(sizeof(struct selftest_event) == SELFTEST_EVENT_SIZE, "selftest_event size");

#endif

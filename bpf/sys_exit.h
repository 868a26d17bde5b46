/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sys_exit programs that look at a syscall's arguments: the syscall number and its first three arguments, read from
 * the registers saved at entry, in a tp_btf program (typed pt_regs) and its raw_tp twin (the same through CO-RE
 * reads of an untyped pointer). Include after vmlinux.h and the libbpf headers.
 */
#ifndef TRIPLINE_SYS_EXIT_H
#define TRIPLINE_SYS_EXIT_H

/* The syscall's number and first three arguments. */
struct sc {
	long nr;
	__u64 a0, a1, a2;
};

#if defined(__TARGET_ARCH_x86)
#define SC_NR orig_ax
#define SC_A0 di
#define SC_A1 si
#define SC_A2 dx
#elif defined(__TARGET_ARCH_arm64) /* x0 holds the return value at exit, orig_x0 the first argument */
#define SC_NR syscallno
#define SC_A0 orig_x0
#define SC_A1 regs[1]
#define SC_A2 regs[2]
#else
#error "sys_exit.h: argument registers for this architecture are missing"
#endif

/*
 * Defines the tp_btf program `name` on sys_exit and its raw_tp twin `name##_raw`: each fills a struct sc for the
 * syscalls `wanted(nr)` accepts and calls `handler(&sc, ret)`.
 */
#define SYS_EXIT_PROGRAMS(name, wanted, handler)                                  \
	SEC("tp_btf/sys_exit")                                                     \
	int BPF_PROG(name, struct pt_regs *regs, long ret)                         \
	{                                                                          \
		struct sc a = { .nr = regs->SC_NR };                               \
		if (!wanted(a.nr))                                                 \
			return 0;                                                  \
		a.a0 = regs->SC_A0;                                                \
		a.a1 = regs->SC_A1;                                                \
		a.a2 = regs->SC_A2;                                                \
		handler(&a, ret);                                                  \
		return 0;                                                          \
	}                                                                          \
	SEC("raw_tp/sys_exit")                                                     \
	int BPF_PROG(name##_raw, struct pt_regs *regs, long ret)                   \
	{                                                                          \
		struct sc a = { .nr = BPF_CORE_READ(regs, SC_NR) };                \
		if (!wanted(a.nr))                                                 \
			return 0;                                                  \
		a.a0 = BPF_CORE_READ(regs, SC_A0);                                 \
		a.a1 = BPF_CORE_READ(regs, SC_A1);                                 \
		a.a2 = BPF_CORE_READ(regs, SC_A2);                                 \
		handler(&a, ret);                                                  \
		return 0;                                                          \
	}

#endif /* TRIPLINE_SYS_EXIT_H */

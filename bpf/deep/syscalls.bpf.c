// SPDX-License-Identifier: GPL-2.0
/*
 * syscalls (deep probe, src/probes/deep/syscalls.ts): the target's system calls: counts and time per syscall, and
 * each call over a threshold with its first three arguments (and the path of openat, read from user memory at
 * entry, where it is cheap). (bpf/counters/syscalls.bpf.c is the always-on syscalls counter family.)
 * Hooks (tracepoints; no tp_btf twin):
 *   raw_syscalls:sys_enter  tld_sys_enter: remember the target thread's call (id, args, openat path, time)
 *   raw_syscalls:sys_exit   tld_sys_exit: count and time into the totals; an event when over the threshold
 * Maps:
 *   sys_inflight  HASH key __u32 tid -> struct inflight {enter ns, id, args, path}, 10240
 *   sys_totals    PERCPU_ARRAY SYSCALLS_MAX_ID x struct syscalls_total
 *   sys_events    RINGBUF 512 KiB of struct syscalls_event
 *   sys_scratch   PERCPU_ARRAY 1 x struct inflight (built here: too big for the BPF stack next to the rest)
 *   + deep_target / target_pids / deep_stats (deep_target.h)
 * Knobs (rodata): threshold_ns: calls at least this long are sent as events; openat_nr: openat's number on this
 *        architecture (0 = never read paths); futex_nr: futex's number (0 = never read lock holders).
 * A FUTEX_WAIT on a glibc pthread mutex waits on its __lock word; the mutex's __owner (the holder's tid) is the int
 * 8 bytes after it. It is read at entry (4 bytes of user memory, may fail): user space keeps it only when it names
 * a thread of the same process (so a condition variable's or another futex's neighbouring word is not taken for
 * a holder).
 * Emits: one record per call over the threshold (budget: max_events; the totals keep counting).
 * Cost class: deep (every system call on the host pays the target check).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "tripline.h"
#include "deep_target.h"
#include "syscalls.h"

TRIPLINE_EXPORT_TYPE(syscalls_event);

const volatile __u64 threshold_ns = 1000000;
const volatile __u32 openat_nr = 0;
const volatile __u32 futex_nr = 0;

#define FUTEX_CMD_MASK 0x7f /* without FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME */
#define FUTEX_WAIT_OP 0
#define FUTEX_WAIT_BITSET_OP 9

struct inflight {
	__u64 ts;
	__u64 args[3];
	__u32 id;
	__u32 has_path;
	__u32 holder;
	char path[SYSCALLS_PATH_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct inflight);
} sys_inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SYSCALLS_MAX_ID);
	__type(key, __u32);
	__type(value, struct syscalls_total);
} sys_totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 512 * 1024);
} sys_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct inflight);
} sys_scratch SEC(".maps");

SEC("tracepoint/raw_syscalls/sys_enter")
int tld_sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u32 zero = 0, tid;
	struct inflight *f;

	if (!deep_is_target(t))
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	f = bpf_map_lookup_elem(&sys_scratch, &zero);
	if (!f)
		return 0;
	f->id = (__u32)ctx->id;
	f->args[0] = ctx->args[0];
	f->args[1] = ctx->args[1];
	f->args[2] = ctx->args[2];
	f->has_path = 0;
	/* openat(dirfd, path, flags): the path is only readable here, before the kernel consumes it. */
	if (openat_nr && f->id == openat_nr)
		f->has_path = bpf_probe_read_user_str(f->path, sizeof(f->path), (void *)ctx->args[1]) > 0;
	f->holder = 0;
	if (futex_nr && f->id == futex_nr &&
	    ((ctx->args[1] & FUTEX_CMD_MASK) == FUTEX_WAIT_OP || (ctx->args[1] & FUTEX_CMD_MASK) == FUTEX_WAIT_BITSET_OP))
		bpf_probe_read_user(&f->holder, sizeof(f->holder), (void *)(ctx->args[0] + 8));
	f->ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&sys_inflight, &tid, f, BPF_ANY);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int tld_sys_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), dur;
	__u32 tid = (__u32)pid_tgid, id;
	struct inflight *f = bpf_map_lookup_elem(&sys_inflight, &tid);
	struct syscalls_total *tot;
	struct syscalls_event *e;

	if (!f)
		return 0;
	dur = bpf_ktime_get_ns() - f->ts;
	id = f->id;
	tot = bpf_map_lookup_elem(&sys_totals, &id);
	if (tot) {
		tot->count++;
		tot->total_ns += dur;
	}
	if (dur >= threshold_ns && deep_take_event()) {
		e = bpf_ringbuf_reserve(&sys_events, sizeof(*e), 0);
		if (e) {
			e->duration_ns = dur;
			e->ret = ctx->ret;
			e->args[0] = f->args[0];
			e->args[1] = f->args[1];
			e->args[2] = f->args[2];
			e->id = id;
			e->pid = (__u32)pid_tgid;
			e->tgid = pid_tgid >> 32;
			e->has_path = f->has_path;
			bpf_get_current_comm(e->comm, sizeof(e->comm));
			__builtin_memcpy(e->path, f->path, SYSCALLS_PATH_LEN);
			e->holder = f->holder;
			e->pad = 0;
			bpf_ringbuf_submit(e, 0);
		} else {
			deep_count(DEEP_STAT_DROPPED);
		}
	}
	bpf_map_delete_elem(&sys_inflight, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

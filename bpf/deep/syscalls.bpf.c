// SPDX-License-Identifier: Apache-2.0
/*
 * systrace (the `syscalls` deep probe; bpf/syscalls.* is the always-on counter family): the target's system
 * calls — counts and time per syscall, and each call over a threshold with its first three arguments (and the
 * path of openat, read from user memory at entry, where it is cheap).
 * Hooks: tracepoint/raw_syscalls/sys_enter, tracepoint/raw_syscalls/sys_exit.
 * Maps:  st_inflight  HASH tid -> {enter ns, id, args, path} (max 10240)
 *        st_totals    PERCPU_ARRAY[SYSTRACE_MAX_ID] struct systrace_total
 *        st_events    RINGBUF 512 KiB of struct systrace_event
 *        + deep_target / target_pids / deep_stats (deep_target.h)
 * Knobs: threshold_ns — calls at least this long are sent as events; openat_nr — openat's number on this
 *        architecture (0 = never read paths).
 * Events: one ring buffer record per call over the threshold (budget: max_events; the totals keep counting).
 * Cost class: deep (every system call on the host pays the target check).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "tripline.h"
#include "deep_target.h"
#include "syscalls.h"

char LICENSE[] SEC("license") = "GPL";

TRIPLINE_EXPORT_TYPE(systrace_event);

const volatile __u64 threshold_ns = 1000000;
const volatile __u32 openat_nr = 0;

struct inflight {
	__u64 ts;
	__u64 args[3];
	__u32 id;
	__u32 has_path;
	char path[SYSTRACE_PATH_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct inflight);
} st_inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SYSTRACE_MAX_ID);
	__type(key, __u32);
	__type(value, struct systrace_total);
} st_totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 512 * 1024);
} st_events SEC(".maps");

/* The in-flight value is built in a per-CPU scratch slot: it is too big for the BPF stack next to the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct inflight);
} st_scratch SEC(".maps");

SEC("tracepoint/raw_syscalls/sys_enter")
int st_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	if (!deep_is_target(t))
		return 0;
	__u32 zero = 0, tid = (__u32)bpf_get_current_pid_tgid();
	struct inflight *f = bpf_map_lookup_elem(&st_scratch, &zero);
	if (!f)
		return 0;
	f->id = (__u32)ctx->id;
	f->args[0] = ctx->args[0];
	f->args[1] = ctx->args[1];
	f->args[2] = ctx->args[2];
	f->has_path = 0;
	// openat(dirfd, path, flags): the path is only readable here, before the kernel consumes it.
	if (openat_nr && f->id == openat_nr)
		f->has_path = bpf_probe_read_user_str(f->path, sizeof(f->path), (void *)ctx->args[1]) > 0;
	f->ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&st_inflight, &tid, f, BPF_ANY);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int st_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct inflight *f = bpf_map_lookup_elem(&st_inflight, &tid);
	if (!f)
		return 0;
	__u64 dur = bpf_ktime_get_ns() - f->ts;
	__u32 id = f->id;
	struct systrace_total *tot = bpf_map_lookup_elem(&st_totals, &id);
	if (tot) {
		tot->count++;
		tot->total_ns += dur;
	}
	if (dur >= threshold_ns && deep_take_event()) {
		struct systrace_event *e = bpf_ringbuf_reserve(&st_events, sizeof(*e), 0);
		if (e) {
			e->duration_ns = dur;
			e->ret = ctx->ret;
			e->args[0] = f->args[0];
			e->args[1] = f->args[1];
			e->args[2] = f->args[2];
			e->id = id;
			__u64 pt = bpf_get_current_pid_tgid();
			e->pid = (__u32)pt;
			e->tgid = pt >> 32;
			e->has_path = f->has_path;
			bpf_get_current_comm(e->comm, sizeof(e->comm));
			__builtin_memcpy(e->path, f->path, SYSTRACE_PATH_LEN);
			bpf_ringbuf_submit(e, 0);
		} else {
			deep_count(DEEP_STAT_DROPPED);
		}
	}
	bpf_map_delete_elem(&st_inflight, &tid);
	return 0;
}

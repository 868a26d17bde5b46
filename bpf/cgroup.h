/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one reader of cgroup ids. A task's cgroup is its cpu controller's cgroup, and its id is the inode number of
 * that cgroup's directory: on cgroup v1 the directory in the cpu hierarchy (/sys/fs/cgroup/cpu,cpuacct/...), on v2
 * the one in the unified tree. The same read serves both because css_set.subsys[cpu_cgrp_id] points at the cpu
 * controller's css on either version (on v2, the nearest ancestor with the controller enabled).
 *
 * Each reader takes `btf`, a constant after inlining: true for a BTF pointer (tp_btf arguments,
 * bpf_get_current_task_btf()), read with direct loads that the verifier turns into fault-safe loads (about 5 loads
 * instead of 5 bpf_probe_read_kernel calls on the hot path); false for an untyped pointer (raw_tp and tracepoint
 * arguments, bpf_get_current_task()), read with CO-RE probe reads. The branch not taken is compiled out.
 * Include after vmlinux.h and <bpf/bpf_core_read.h>.
 */
#ifndef TRIPLINE_CGROUP_H
#define TRIPLINE_CGROUP_H

#define CGROUP_BTF true
#define CGROUP_CORE false

/* The cpu controller's css of task t. */
static __always_inline struct cgroup_subsys_state *task_cpu_css(struct task_struct *t, bool btf)
{
	return btf ? t->cgroups->subsys[cpu_cgrp_id] : BPF_CORE_READ(t, cgroups, subsys[cpu_cgrp_id]);
}

/* The id (cgroupfs inode) of the cgroup of a css. */
static __always_inline __u64 css_cgroup_id(struct cgroup_subsys_state *css, bool btf)
{
	return btf ? css->cgroup->kn->id : BPF_CORE_READ(css, cgroup, kn, id);
}

/* The same controller's css of the parent cgroup; NULL at the root. */
static __always_inline struct cgroup_subsys_state *css_parent(struct cgroup_subsys_state *css, bool btf)
{
	return btf ? css->parent : BPF_CORE_READ(css, parent);
}

/* The cpu cgroup id of task t: the key of every per-cgroup counter and the cgroup_id of deep records. */
static __always_inline __u64 task_cpu_cgroup_id(struct task_struct *t, bool btf)
{
	return css_cgroup_id(task_cpu_css(t, btf), btf);
}

/*
 * Id of the socket's cgroup v2 (the cgroup of the task that created the socket). Only meaningful when the cpu
 * controller runs on v2, where it equals task_cpu_cgroup_id() of that task; on v1 it is the v2 root's, so callers
 * check first (tcp_sk_cgroup_v2 in counters/tcp.bpf.c).
 */
static __always_inline __u64 sock_cgroup_v2_id(struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
}

#endif /* TRIPLINE_CGROUP_H */

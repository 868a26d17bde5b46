/* The cpu controller's cgroup id of a task: the inode number of its cgroup directory in the cpu
 * hierarchy (v1: /sys/fs/cgroup/cpu/..., v2: the unified tree). The same read works for v1 and v2
 * because css_set.subsys[cpu_cgrp_id] points at the cpu controller's css on either version.
 * Include after vmlinux.h and bpf_core_read.h. */
#ifndef TRIPLINE_CGROUP_H
#define TRIPLINE_CGROUP_H

/* For raw_tp/tracepoint programs, where `t` is an untyped pointer: CO-RE probe reads. */
static __always_inline __u64 task_cpu_cgroup_id(struct task_struct *t)
{
	return BPF_CORE_READ(t, cgroups, subsys[cpu_cgrp_id], cgroup, kn, id);
}

/* For tp_btf programs, where `t` is a BTF pointer: direct (CO-RE relocated) loads, which the verifier
 * turns into fault-safe loads. About 5 loads instead of 5 bpf_probe_read_kernel calls on the hot path. */
static __always_inline __u64 task_cpu_cgroup_id_btf(struct task_struct *t)
{
	return t->cgroups->subsys[cpu_cgrp_id]->cgroup->kn->id;
}

#endif /* TRIPLINE_CGROUP_H */

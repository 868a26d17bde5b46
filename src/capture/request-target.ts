/**
 * The target of a requested capture (src/capture/request-schema.ts), resolved on this host by the probe side: a
 * cgroup path must be a directory of the cpu hierarchy (its inode is the cgroup id), a pid a live process, a pod one
 * of this node's (the pod directory) with its cgroup found by the uid in the kubelet's layout, a container id the
 * cgroup whose path names it. What is not here is refused as `not_here`, so a node's engine captures only its own.
 */
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncidentTarget } from '../incident.ts';
import type { CgroupMount } from '../probes/cgroup-mount.ts';
import { parseCgroupPath } from '../probes/cgroup-path.ts';
import { walkCgroups, type CgroupInfo } from '../probes/cgroups.ts';
import { uidKey, workloadOf } from '../probes/pod-directory.ts';
import type { PodMeta } from '../pod-meta.ts';
import type { CaptureTargetSpec, RefusalCode } from './request-schema.ts';

/** Where targets are looked up. */
export interface TargetLookup {
  /** The cpu hierarchy (its mount); absent on a host without one: cgroup, pod and container targets are refused. */
  readonly mount?: CgroupMount;
  /** This node's pods by namespace and name (the pod directory). */
  readonly pod: (namespace: string, name: string) => PodMeta | undefined;
  /** @defaultValue /proc */
  readonly proc?: string;
}

/** A resolved target, or a refusal with its code. */
export type TargetResolution =
  | { readonly ok: true; readonly target: IncidentTarget; readonly hostWide?: boolean }
  | { readonly ok: false; readonly code: RefusalCode; readonly reason: string };

const refuse = (code: RefusalCode, reason: string): TargetResolution => ({ ok: false, code, reason });

/** Resolves a requested target on this host. */
export function resolveRequestTarget(spec: CaptureTargetSpec, l: TargetLookup): TargetResolution {
  if (spec.kind === 'node') return { ok: true, target: {}, hostWide: true };
  if (spec.kind === 'pid') return pidTarget(spec.pid, l.proc ?? '/proc');
  const mount = l.mount;
  if (!mount) return refuse('bad_target', 'this host has no cpu cgroup hierarchy: only pid and node targets work');
  if (spec.kind === 'cgroup') return cgroupTarget(spec.path, mount);
  if (spec.kind === 'container') {
    const c = shallowest(walkCgroups(mount), (c) => c.labels.container_id.startsWith(spec.id));
    return c ? { ok: true, target: fromCgroup(c) } : refuse('not_here', `no container ${spec.id} on this host`);
  }
  const pod = l.pod(spec.namespace, spec.pod);
  if (!pod) return refuse('not_here', `pod ${spec.namespace}/${spec.pod} is not on this node`);
  const uid = uidKey(pod.uid);
  let containerId = '';
  if (spec.container) {
    containerId = pod.containers.find((c) => c.name === spec.container)?.id ?? '';
    if (!containerId)
      return refuse('not_here', `pod ${spec.namespace}/${spec.pod} has no running container ${spec.container}`);
  }
  const c = shallowest(
    walkCgroups(mount),
    (c) =>
      uidKey(c.labels.pod_uid) === uid &&
      (containerId ? c.labels.container_id === containerId : !c.labels.container_id),
  );
  if (!c)
    return refuse(
      'not_here',
      `no cgroup of pod ${spec.namespace}/${spec.pod}${spec.container ? ` container ${spec.container}` : ''} on this host`,
    );
  return {
    ok: true,
    target: {
      ...fromCgroup(c),
      ...(spec.container ? { container: spec.container } : {}),
      ...(workloadOf(pod) ? { workload: workloadOf(pod) } : {}),
      pod: {
        uid: pod.uid,
        name: pod.name,
        namespace: pod.namespace,
        ...(pod.qos ? { qos: pod.qos.toLowerCase() } : {}),
      },
    },
  };
}

/** The cgroup nearest the root among those that match (a container's own sub-cgroups lose to it). */
function shallowest(all: readonly CgroupInfo[], match: (c: CgroupInfo) => boolean): CgroupInfo | undefined {
  let best: CgroupInfo | undefined;
  for (const c of all) if (match(c) && (!best || c.path.length < best.path.length)) best = c;
  return best;
}

function fromCgroup(c: CgroupInfo): IncidentTarget {
  return {
    cgroupId: c.id,
    cgroupPath: c.path,
    ...(c.labels.container_id ? { containerId: c.labels.container_id } : {}),
  };
}

/** A cgroup path as the kernel names it (the mount's root joined with the path under the mount). */
function cgroupTarget(path: string, mount: CgroupMount): TargetResolution {
  const root = mount.root === '/' ? '' : mount.root;
  if (root && path !== root && !path.startsWith(`${root}/`))
    return refuse('not_here', `cgroup ${path} is outside this host's cpu hierarchy (mounted from ${root})`);
  const rel = path.slice(root.length) || '/';
  let st;
  try {
    st = lstatSync(join(mount.dir, rel), { bigint: true });
  } catch {
    return refuse('not_here', `no cgroup ${path} on this host`);
  }
  if (!st.isDirectory()) return refuse('bad_target', `${path} is not a cgroup directory`);
  const labels = parseCgroupPath(path);
  return {
    ok: true,
    target: {
      cgroupId: st.ino.toString(),
      cgroupPath: path,
      ...(labels.container_id ? { containerId: labels.container_id } : {}),
    },
  };
}

/** A live process (not a kernel thread's or a zombie's empty cmdline is fine: it is probed all the same). */
function pidTarget(pid: number, proc: string): TargetResolution {
  try {
    readFileSync(join(proc, String(pid), 'stat'), 'utf8');
  } catch {
    return refuse('not_here', `no process ${pid} on this host`);
  }
  return { ok: true, target: { pids: [pid] } };
}

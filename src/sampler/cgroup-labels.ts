/**
 * The labels of a per-cgroup series (CGROUP_LABELS): ids and QoS from the cgroup path, names from the pod directory
 * (or the systemd unit in the path). Pure: the sampler calls it when a cgroup's info or the directory changed.
 */
import type { Labels } from '../samples.ts';
import { CGROUP_LABELS } from '../signals.ts';
import type { CgroupInfo } from '../probes/cgroups.ts';
import { pathNames, type NameLookup } from '../probes/pod-directory.ts';

/** Frozen, in CGROUP_LABELS order; `info` undefined (a cgroup the resolver does not know yet): all but the id ''. */
export function cgroupLabelsOf(id: string, info: CgroupInfo | undefined, pods: NameLookup | undefined): Labels {
  const path = info?.labels;
  const names = path ? (pods ? pods.names(path) : pathNames(path)) : undefined;
  return Object.freeze({
    cgroup: info?.path ?? '',
    cgroup_id: id,
    container: names?.container ?? '',
    container_id: path?.container_id ?? '',
    namespace: names?.namespace ?? '',
    pod: names?.pod ?? '',
    pod_uid: path?.pod_uid ?? '',
    qos: names?.qos ?? '',
    workload: names?.workload ?? '',
  });
}

/** Labels of a node-level series of a per-cgroup signal: every cgroup label '' (the reading's own labels kept). */
export function nodeLevelLabels(readingLabels: Labels): Labels {
  const out: Record<string, string> = { cgroup_id: '', ...readingLabels };
  for (const k of CGROUP_LABELS) out[k] ??= '';
  return out;
}

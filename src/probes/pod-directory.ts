/**
 * The probe side's directory of the pods on this node: the network side's pod cache sends the whole set after each
 * change (the channel's `pods` notification, shaped and bounded by src/pod-meta.ts), the directory replaces what it
 * held, and the sampler asks it for the names of a cgroup from the ids its path shows (pod uid, container id).
 * Bounded by the snapshot (at most PODS_PER_NODE_MAX pods of CONTAINERS_PER_POD_MAX containers) and by NAME_MAX.
 */
import type { PodMeta, PodSnapshot } from '../pod-meta.ts';
import { targetName } from '../incident.ts';
import { parseCgroupPath, type CgroupPathLabels } from './cgroup-path.ts';

/** Longest name label value kept (API names are at most 253 characters; the cap holds whatever arrives). */
export const NAME_MAX = 256;

/** The names of a cgroup; '' when unknown (no pod with that uid on this node, a container not in the pod's status). */
export interface CgroupNames {
  readonly namespace: string;
  /** Pod name. */
  readonly pod: string;
  /** Container name in the pod spec (`app`), found by the runtime id in the cgroup path. */
  readonly container: string;
  /**
   * `Kind/name` of the controller at the top of the pod's owner chain (`Deployment/web`; its namespace is the pod's),
   * or the systemd unit of a cgroup outside Kubernetes (`nginx.service`); '' for a bare pod or a plain cgroup.
   */
  readonly workload: string;
  /** QoS class, lower case (`burstable`): the path's when it shows one, else the pod's. */
  readonly qos: string;
}

/** What the sampler asks: the names of a cgroup, and a number that changes whenever the answers may have. */
export interface NameLookup {
  readonly generation: number;
  names(path: CgroupPathLabels): CgroupNames;
}

/** A pod's uid in one spelling (lower case, no dashes): the API server writes dashes, the systemd driver underscores. */
export function uidKey(uid: string): string {
  return uid.toLowerCase().replace(/[-_]/g, '');
}

const cap = (s: string): string => (s.length > NAME_MAX ? s.slice(0, NAME_MAX) : s);

/** `Kind/name` of a pod's workload, '' without one. */
export function workloadOf(p: Pick<PodMeta, 'workload'>): string {
  return p.workload ? cap(`${p.workload.kind}/${p.workload.name}`) : '';
}

/** The pods on this node as last told, indexed by uid and by container id. */
export class PodDirectory implements NameLookup {
  #byUid = new Map<string, PodMeta>();
  #byContainer = new Map<string, { readonly pod: PodMeta; readonly name: string }>();
  #byName = new Map<string, PodMeta>();
  /** Bumped by every replace: the sampler re-resolves a cgroup's names when it changes. */
  generation = 0;

  /** Replaces the whole set (the network side always sends all pods of the node). */
  replace(snapshot: PodSnapshot): void {
    const byUid = new Map<string, PodMeta>();
    const byContainer = new Map<string, { pod: PodMeta; name: string }>();
    const byName = new Map<string, PodMeta>();
    for (const pod of snapshot.pods) {
      byUid.set(uidKey(pod.uid), pod);
      byName.set(`${pod.namespace}/${pod.name}`, pod);
      for (const c of pod.containers) byContainer.set(c.id.toLowerCase(), { pod, name: c.name });
    }
    this.#byUid = byUid;
    this.#byContainer = byContainer;
    this.#byName = byName;
    this.generation++;
  }

  /** Pods held. */
  get size(): number {
    return this.#byUid.size;
  }

  /** The pod with this uid (either spelling), if on this node. */
  pod(uid: string): PodMeta | undefined {
    return uid ? this.#byUid.get(uidKey(uid)) : undefined;
  }

  /** The pod of that namespace and name, if on this node. */
  byName(namespace: string, name: string): PodMeta | undefined {
    return this.#byName.get(`${namespace}/${name}`);
  }

  /**
   * The names of a cgroup from its path labels. The pod is found by uid, or (a runtime that hides the pod in its path)
   * by the container id; the container name only by the container id, inside that pod.
   */
  names(path: CgroupPathLabels): CgroupNames {
    const byId = path.container_id ? this.#byContainer.get(path.container_id) : undefined;
    const pod = this.pod(path.pod_uid) ?? byId?.pod;
    if (!pod) return { namespace: '', pod: '', container: '', workload: cap(path.unit), qos: path.qos };
    const container = byId && byId.pod === pod ? byId.name : '';
    return {
      namespace: cap(pod.namespace),
      pod: cap(pod.name),
      container: cap(container),
      workload: workloadOf(pod),
      qos: path.qos || pod.qos.toLowerCase(),
    };
  }
}

/** Names from the path alone (no directory: not on Kubernetes, or before the first snapshot). */
export function pathNames(path: CgroupPathLabels): CgroupNames {
  return { namespace: '', pod: '', container: '', workload: cap(path.unit), qos: path.qos };
}

/**
 * A cgroup path's names in one line, as incidents show a target (`shop/web-7d9f-abcde (Deployment shop/web), container
 * app`, `nginx.service`); '' when the path names nothing. For cgroups known only by path (a capture's neighbours).
 */
export function pathName(lookup: NameLookup | undefined, path: string): string {
  const labels = parseCgroupPath(path);
  const n = lookup ? lookup.names(labels) : pathNames(labels);
  return targetName({
    container: n.container || undefined,
    workload: n.workload || undefined,
    ...(n.pod ? { pod: { uid: labels.pod_uid, name: n.pod, namespace: n.namespace } } : {}),
  });
}

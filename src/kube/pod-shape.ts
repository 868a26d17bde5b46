/**
 * From a pod as the API server sends it (untrusted JSON) to what tripline keeps: a slim copy for the informer's
 * store (metadata, owner references, QoS and container statuses: a full pod is 5–20 KB, this is a few hundred
 * bytes) and the PodMeta the probe side names cgroups with. Anything out of shape gives a reason instead of a value:
 * the caller drops the pod and counts the reason. Pure functions.
 */
import { CONTAINERS_PER_POD_MAX, PodMetaSchema, type PodContainer, type PodMeta } from '../pod-meta.ts';

/** An owner reference, as kept. */
export interface OwnerRef {
  readonly kind: string;
  readonly name: string;
  readonly uid?: string;
  readonly controller?: boolean;
}

/** The parts of a pod tripline reads. */
export interface SlimPod {
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly uid: string;
    readonly resourceVersion?: string;
    readonly ownerReferences?: readonly OwnerRef[];
  };
  readonly status: {
    readonly qosClass?: string;
    readonly containers: readonly { readonly name: string; readonly containerID: string }[];
  };
}

/** The workload at the top of a pod's owner chain. */
export type Workload = NonNullable<PodMeta['workload']>;

const str = (v: unknown, max: number): string | undefined =>
  typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined;

/** Owner references kept per object (a pod has one controller; the rest are rare). */
const OWNERS_MAX = 8;
/** Container statuses read per pod: regular, init and ephemeral ones, with room for ones without an id. */
const STATUSES_MAX = CONTAINERS_PER_POD_MAX * 2;

/** A slim copy of `raw`, or why not (no metadata, names missing or too long). */
export function slimPod(raw: unknown): SlimPod | string {
  const pod = raw as any;
  const m = pod?.metadata;
  if (!m || typeof m !== 'object') return 'no_metadata';
  const name = str(m.name, 253);
  const namespace = str(m.namespace, 63);
  const uid = str(m.uid, 64);
  if (!name || !namespace || !uid) return 'bad_name';
  const owners = Array.isArray(m.ownerReferences) ? m.ownerReferences.slice(0, OWNERS_MAX) : [];
  const ownerReferences: OwnerRef[] = [];
  for (const o of owners) {
    const kind = str(o?.kind, 63);
    const oname = str(o?.name, 253);
    if (kind && oname)
      ownerReferences.push({ kind, name: oname, uid: str(o.uid, 64), controller: o.controller === true });
  }
  const s = pod.status && typeof pod.status === 'object' ? pod.status : {};
  const containers: { name: string; containerID: string }[] = [];
  for (const field of ['containerStatuses', 'initContainerStatuses', 'ephemeralContainerStatuses']) {
    const list = Array.isArray(s[field]) ? s[field] : [];
    for (const c of list) {
      if (containers.length >= STATUSES_MAX) break;
      const cname = str(c?.name, 63);
      const id = str(c?.containerID, 160);
      if (cname && id) containers.push({ name: cname, containerID: id });
    }
  }
  return {
    metadata: { name, namespace, uid, resourceVersion: str(m.resourceVersion, 64), ownerReferences },
    status: { qosClass: str(s.qosClass, 32), containers },
  };
}

/** The controlling owner (or the only owner) of an object. */
export function controllerOf(owners: readonly OwnerRef[] | undefined): OwnerRef | undefined {
  const refs = owners ?? [];
  return refs.find((r) => r.controller) ?? (refs.length === 1 ? refs[0] : undefined);
}

/** `containerd://<hex>` (or cri-o, docker) → the hex id, or undefined when not one. */
export function containerIdHex(containerID: string): string | undefined {
  const hex = containerID.slice(containerID.indexOf('://') + 3);
  return /^[0-9a-f]{12,128}$/.test(hex) ? hex : undefined;
}

/** The PodMeta of a slim pod with its workload, or why not (what PodMetaSchema refuses). */
export function podMeta(pod: SlimPod, workload: Workload | undefined): PodMeta | string {
  const containers: PodContainer[] = [];
  const seen = new Set<string>();
  for (const c of pod.status.containers) {
    const id = containerIdHex(c.containerID);
    // A restarted container keeps its name with a new id; only the current id is in the status.
    if (!id || seen.has(id) || containers.length >= CONTAINERS_PER_POD_MAX) continue;
    seen.add(id);
    containers.push({ id, name: c.name });
  }
  const q = pod.status.qosClass;
  const r = PodMetaSchema.safeParse({
    uid: pod.metadata.uid,
    namespace: pod.metadata.namespace,
    name: pod.metadata.name,
    qos: q === 'Guaranteed' || q === 'Burstable' || q === 'BestEffort' ? q : '',
    workload,
    containers,
  });
  if (r.success) return r.data;
  const field = r.error.issues[0]?.path[0];
  // A workload of an odd shape (a custom controller's kind) is left out rather than losing the pod's name.
  if (field === 'workload' && workload) return podMeta(pod, undefined);
  return `bad_${String(field ?? 'shape')}`;
}

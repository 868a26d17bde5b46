/**
 * Which workload to scale for an incident: the rule's explicit target, or the incident's pod followed up its
 * controller owner references (Pod → ReplicaSet → Deployment, or Pod → StatefulSet). The pod is found by name
 * when the incident carries it, otherwise by uid in a list of all pods (cached: the list is the costly call).
 */
import type { IncidentTarget } from '../../incident.ts';
import type { ScaleActionSpec } from './spec.ts';
import { UnrecoverableError } from '../errors.ts';
import { KubeHttpError } from '../../kube/client.ts';
import type { KubeClient } from '../../kube/client.ts';

/** A scalable workload. */
export interface WorkloadRef {
  readonly kind: 'Deployment' | 'StatefulSet';
  readonly namespace: string;
  readonly name: string;
}

/** `Deployment/ns/name`: the workload's id in cooldown keys and messages. */
export function workloadId(w: WorkloadRef): string {
  return `${w.kind}/${w.namespace}/${w.name}`;
}

/** The API path of a workload's scale subresource. */
export function scalePath(w: WorkloadRef): string {
  return `/apis/apps/v1/namespaces/${encodeURIComponent(w.namespace)}/${w.kind === 'Deployment' ? 'deployments' : 'statefulsets'}/${encodeURIComponent(w.name)}/scale`;
}

interface OwnerReference {
  readonly kind: string;
  readonly name: string;
  readonly controller?: boolean;
  readonly apiVersion?: string;
}
interface ObjectMeta {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly ownerReferences?: readonly OwnerReference[];
}
interface PodList {
  readonly items: readonly { readonly metadata: ObjectMeta }[];
}

/** Resolves incidents to workloads; keep one per client so its pod cache is reused. */
export class OwnerResolver {
  readonly #client: KubeClient;
  /** uid → pod name, from the last full list (a pod keeps its uid for life, so a hit stays right until it is gone). */
  #uids = new Map<string, { namespace: string; name: string }>();
  #listing?: Promise<PodList>;

  constructor(client: KubeClient) {
    this.#client = client;
  }

  /** The workload for a spec's target: explicit, or `auto` from the incident's pod. */
  async resolve(target: ScaleActionSpec['target'], incident: IncidentTarget): Promise<WorkloadRef> {
    if (target !== 'auto') return { kind: target.kind, namespace: target.namespace, name: target.name };
    const pod = await this.#pod(incident);
    const owner = controllerOf(pod);
    if (!owner) throw notScalable(`pod ${pod.namespace}/${pod.name} has no controller owner`);
    if (owner.kind === 'StatefulSet') return { kind: 'StatefulSet', namespace: pod.namespace, name: owner.name };
    if (owner.kind !== 'ReplicaSet')
      throw notScalable(`pod ${pod.namespace}/${pod.name} is owned by a ${owner.kind}, which has no replicas to raise`);
    const rs = await this.#client.get<{ metadata: ObjectMeta }>(
      `/apis/apps/v1/namespaces/${encodeURIComponent(pod.namespace)}/replicasets/${encodeURIComponent(owner.name)}`,
    );
    const dep = controllerOf(rs.metadata);
    if (!dep || dep.kind !== 'Deployment')
      throw notScalable(`ReplicaSet ${pod.namespace}/${owner.name} is not owned by a Deployment`);
    return { kind: 'Deployment', namespace: pod.namespace, name: dep.name };
  }

  async #pod(t: IncidentTarget): Promise<ObjectMeta> {
    const p = t.pod;
    if (!p?.uid && !(p?.name && p.namespace))
      throw notScalable('the incident names no pod (target auto needs a pod; give the rule an explicit target)');
    if (p.name && p.namespace) {
      // By name even when the uid differs: a pod recreated under the same name (StatefulSet) has the same owner.
      try {
        return (
          await this.#client.get<{ metadata: ObjectMeta }>(
            `/api/v1/namespaces/${encodeURIComponent(p.namespace)}/pods/${encodeURIComponent(p.name)}`,
          )
        ).metadata;
      } catch (err) {
        if (!(err instanceof KubeHttpError && err.status === 404) || !p.uid) throw err;
      }
    }
    return this.#byUid(p.uid!);
  }

  async #byUid(uid: string): Promise<ObjectMeta> {
    let hit = this.#uids.get(uid);
    if (!hit) {
      // A miss lists all pods again (a new pod); concurrent misses share one list, so a burst of incidents costs one call.
      this.#listing ??= this.#client.get<PodList>('/api/v1/pods').finally(() => {
        this.#listing = undefined;
      });
      const list = await this.#listing;
      this.#uids = new Map(
        list.items.map((i) => [i.metadata.uid, { namespace: i.metadata.namespace, name: i.metadata.name }]),
      );
      hit = this.#uids.get(uid);
    }
    if (!hit) throw notScalable(`no pod with uid ${uid} in the cluster (gone already?)`);
    try {
      const pod = await this.#client.get<{ metadata: ObjectMeta }>(
        `/api/v1/namespaces/${encodeURIComponent(hit.namespace)}/pods/${encodeURIComponent(hit.name)}`,
      );
      return pod.metadata;
    } catch (err) {
      if (err instanceof KubeHttpError && err.status === 404) this.#uids.delete(uid);
      throw err;
    }
  }
}

function controllerOf(meta: ObjectMeta): OwnerReference | undefined {
  const refs = meta.ownerReferences ?? [];
  return refs.find((r) => r.controller) ?? (refs.length === 1 ? refs[0] : undefined);
}

function notScalable(what: string): UnrecoverableError {
  return new UnrecoverableError(`scale: ${what}`, {
    reason: 'no_target',
    hint: "set target: {kind, namespace, name} in the rule's scale action, or scale only pods of Deployments and StatefulSets",
  });
}

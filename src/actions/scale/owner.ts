/**
 * Which workload to scale for an incident: the rule's explicit target, or the incident's pod followed up its
 * controller owner references (Pod → ReplicaSet → Deployment, or Pod → StatefulSet). The pod is found, cheapest
 * first: in this node's pod cache (which already knows the workload: no call at all), by name when the incident
 * carries it, else by uid in a list of this node's pods (`fieldSelector=spec.nodeName`), and only then in a
 * paginated list of the cluster (`limit`/`continue`, bounded): the API cannot select pods by uid.
 */
import type { IncidentTarget } from '../../incident.ts';
import type { ScaleActionSpec } from './spec.ts';
import { UnrecoverableError } from '../errors.ts';
import { KubeHttpError } from '../../kube/client.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { PodLookup } from '../../kube/pod-lookup.ts';

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
  readonly items?: readonly { readonly metadata?: ObjectMeta }[];
  readonly metadata?: { readonly continue?: string };
}

/** Pods per page of the cluster-wide search. */
const PAGE_SIZE = 500;
/** Pages searched at most (100,000 pods): past that the incident must name its pod. */
const MAX_PAGES = 200;
/** uid → pod names remembered from searches. */
const UIDS_MAX = 10_000;

/** Where the resolver looks for pods besides the API. */
export interface OwnerResolverOptions {
  /** This node's name (kubernetes.node_name): a uid is looked for among its pods before the cluster's. */
  readonly node?: string;
  /** @defaultValue 500 */
  readonly pageSize?: number;
  /** @defaultValue 200 */
  readonly maxPages?: number;
}

/** Resolves incidents to workloads; keep one per client so what it learnt of uids is reused. */
export class OwnerResolver {
  readonly #client: KubeClient;
  readonly #o: OwnerResolverOptions;
  /** uid → pod name, from searches (a pod keeps its uid for life, so a hit stays right until it is gone). */
  readonly #uids = new Map<string, { namespace: string; name: string }>();
  readonly #searches = new Map<string, Promise<ObjectMeta | undefined>>();

  constructor(client: KubeClient, o: OwnerResolverOptions = {}) {
    this.#client = client;
    this.#o = o;
  }

  /** The workload for a spec's target: explicit, or `auto` from the incident's pod (this node's `pods` first). */
  async resolve(target: ScaleActionSpec['target'], incident: IncidentTarget, pods?: PodLookup): Promise<WorkloadRef> {
    if (target !== 'auto') return { kind: target.kind, namespace: target.namespace, name: target.name };
    const cached = incident.pod?.uid ? pods?.byUid(incident.pod.uid) : undefined;
    // The cache followed the owner chain already, unless the ReplicaSet's owner was not read yet.
    if (cached && cached.workload?.kind !== 'ReplicaSet') {
      const w = cached.workload;
      const pod = `pod ${cached.namespace}/${cached.name}`;
      if (!w) throw notScalable(`${pod} has no controller owner`);
      if (w.kind === 'Deployment' || w.kind === 'StatefulSet')
        return { kind: w.kind, namespace: cached.namespace, name: w.name };
      throw notScalable(`${pod} is owned by a ${w.kind}, which has no replicas to raise`);
    }
    const byName = cached ? { uid: cached.uid, namespace: cached.namespace, name: cached.name } : incident.pod;
    const pod = await this.#pod({ ...incident, pod: byName });
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
    const known = p.name && p.namespace ? { namespace: p.namespace, name: p.name } : this.#uids.get(p.uid!);
    if (known) {
      // By name even when the uid differs: a pod recreated under the same name (StatefulSet) has the same owner.
      try {
        return (
          await this.#client.get<{ metadata: ObjectMeta }>(
            `/api/v1/namespaces/${encodeURIComponent(known.namespace)}/pods/${encodeURIComponent(known.name)}`,
          )
        ).metadata;
      } catch (err) {
        if (!(err instanceof KubeHttpError && err.status === 404) || !p.uid) throw err;
        this.#uids.delete(p.uid);
      }
    }
    const uid = p.uid!;
    // Concurrent misses of one uid share one search, so a burst of incidents costs one.
    let search = this.#searches.get(uid);
    if (!search) {
      search = this.#search(uid).finally(() => this.#searches.delete(uid));
      this.#searches.set(uid, search);
    }
    const hit = await search;
    if (!hit) throw notScalable(`no pod with uid ${uid} in the cluster (gone already?)`);
    return hit;
  }

  /** A uid among this node's pods, then page by page among the cluster's (the API has no uid selector). */
  async #search(uid: string): Promise<ObjectMeta | undefined> {
    const node = this.#o.node;
    if (node) {
      const hit = this.#find(
        await this.#client.get<PodList>('/api/v1/pods', { fieldSelector: `spec.nodeName=${node}` }),
        uid,
      );
      if (hit) return hit;
    }
    const limit = String(this.#o.pageSize ?? PAGE_SIZE);
    const maxPages = this.#o.maxPages ?? MAX_PAGES;
    let next: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const list = await this.#client.get<PodList>('/api/v1/pods', next ? { limit, continue: next } : { limit });
      const hit = this.#find(list, uid);
      if (hit) return hit;
      next = typeof list.metadata?.continue === 'string' && list.metadata.continue ? list.metadata.continue : undefined;
      if (!next) return undefined;
    }
    throw notScalable(
      `no pod with uid ${uid} in the first ${maxPages} pages of ${limit} pods of the cluster (searched no further)`,
    );
  }

  /** The pod with `uid` in a list; remembers every pod's name by uid on the way (bounded). */
  #find(list: PodList, uid: string): ObjectMeta | undefined {
    let hit: ObjectMeta | undefined;
    for (const item of Array.isArray(list.items) ? list.items : []) {
      const m = item?.metadata;
      if (typeof m?.uid !== 'string' || typeof m.name !== 'string' || typeof m.namespace !== 'string') continue;
      if (m.uid === uid) hit = m;
      if (this.#uids.size < UIDS_MAX) this.#uids.set(m.uid, { namespace: m.namespace, name: m.name });
    }
    return hit;
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

/**
 * The workload at the top of a pod's owner chain: a StatefulSet, DaemonSet, Job (or any other controller) owns the
 * pod directly; a ReplicaSet is followed to its Deployment with one `GET replicasets` per ReplicaSet, cached by its
 * uid (a ReplicaSet's owner never changes) and shared by concurrent lookups (a relist of 110 pods from 20
 * ReplicaSets costs 20 calls once). Jobs are not followed to CronJobs: that would need `get jobs` in the RBAC.
 */
import { KubeHttpError, type KubeClient } from './client.ts';
import { controllerOf, type OwnerRef, type SlimPod, type Workload } from './pod-shape.ts';

/** ReplicaSets remembered (a node's pods come from far fewer; the bound only guards against churn). */
const CACHE_MAX = 4096;
/** After a failed read (no RBAC, API down) a ReplicaSet is not asked again for this long: pods change often. */
const RETRY_AFTER_MS = 60_000;

/** Finds and remembers the workloads of pods. */
export class WorkloadResolver {
  readonly #client: KubeClient;
  readonly #known = new Map<string, Workload>();
  readonly #inflight = new Map<string, Promise<Workload>>();
  /** ReplicaSets whose read failed, and when. */
  readonly #failed = new Map<string, number>();

  constructor(client: KubeClient) {
    this.#client = client;
  }

  /**
   * The pod's workload when known without a call; `pending` names the ReplicaSet to look up first (until then the
   * ReplicaSet stands as the workload).
   */
  known(pod: SlimPod): { workload?: Workload; pending?: OwnerRef } {
    const owner = controllerOf(pod.metadata.ownerReferences);
    if (!owner) return {};
    if (owner.kind !== 'ReplicaSet') return { workload: { kind: owner.kind, name: owner.name } };
    const k = key(pod.metadata.namespace, owner);
    const hit = this.#known.get(k);
    if (hit) return { workload: hit };
    const failed = this.#failed.get(k);
    const retry = failed === undefined || Date.now() - failed >= RETRY_AFTER_MS;
    return { workload: { kind: 'ReplicaSet', name: owner.name }, ...(retry ? { pending: owner } : {}) };
  }

  /** Looks up a ReplicaSet's controller (Deployment), remembering the answer. Throws the client's errors. */
  resolve(namespace: string, rs: OwnerRef): Promise<Workload> {
    const k = key(namespace, rs);
    const hit = this.#known.get(k);
    if (hit) return Promise.resolve(hit);
    let p = this.#inflight.get(k);
    if (!p) {
      p = this.#fetch(namespace, rs)
        .then((w) => {
          if (this.#known.size >= CACHE_MAX) this.#known.delete(this.#known.keys().next().value!);
          this.#known.set(k, w);
          this.#failed.delete(k);
          return w;
        })
        .catch((err: unknown) => {
          if (this.#failed.size >= CACHE_MAX) this.#failed.delete(this.#failed.keys().next().value!);
          this.#failed.set(k, Date.now());
          throw err;
        })
        .finally(() => this.#inflight.delete(k));
      this.#inflight.set(k, p);
    }
    return p;
  }

  async #fetch(namespace: string, rs: OwnerRef): Promise<Workload> {
    let body: any;
    try {
      body = await this.#client.get(
        `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/replicasets/${encodeURIComponent(rs.name)}`,
      );
    } catch (err) {
      // A ReplicaSet already gone: its pods go too; the ReplicaSet is the best name there is.
      if (err instanceof KubeHttpError && err.status === 404) return { kind: 'ReplicaSet', name: rs.name };
      throw err;
    }
    const refs: OwnerRef[] = (Array.isArray(body?.metadata?.ownerReferences) ? body.metadata.ownerReferences : [])
      .slice(0, 8)
      .filter((o: any) => typeof o?.kind === 'string' && typeof o?.name === 'string')
      .map((o: any) => ({ kind: o.kind, name: o.name, controller: o.controller === true }));
    const top = controllerOf(refs);
    return top?.kind === 'Deployment' ? { kind: 'Deployment', name: top.name } : { kind: 'ReplicaSet', name: rs.name };
  }
}

function key(namespace: string, rs: OwnerRef): string {
  return `${namespace}/${rs.name}/${rs.uid ?? ''}`;
}

/**
 * A local HTTP(S) server that speaks the Kubernetes API paths the scale action uses: pods (list all, get),
 * replicasets (get), deployments/statefulsets scale subresource (GET, merge PATCH, `dryRun=All`), HPAs (list,
 * merge PATCH). Objects live in memory; every request is recorded; a token can be required (401 otherwise); a
 * request that is not a call of src/kube/api-calls.ts gets 403, as from the deployed RBAC (`forbidden` lists them).
 */
import { createServer as createHttp } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { unlistedCall } from './kube-calls.ts';

/** One request the fake received. */
export interface KubeCall {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly body?: any;
  readonly contentType?: string;
  readonly authorization?: string;
}

type Meta = {
  name: string;
  namespace: string;
  uid: string;
  ownerReferences?: { kind: string; name: string; controller?: boolean; apiVersion?: string }[];
};

/** The fake API server. */
export class FakeKube {
  readonly calls: KubeCall[] = [];
  /** Requests RBAC would refuse: not in src/kube/api-calls.ts (answered 403, as the deployed ClusterRole would). */
  readonly forbidden: string[] = [];
  readonly pods = new Map<string, { metadata: Meta }>();
  readonly replicaSets = new Map<string, { metadata: Meta }>();
  /** `deployments/ns/name` or `statefulsets/ns/name` → replicas. */
  readonly replicas = new Map<string, number>();
  readonly hpas = new Map<
    string,
    {
      metadata: { name: string; namespace: string };
      spec: {
        minReplicas?: number;
        maxReplicas: number;
        scaleTargetRef: { kind: string; name: string; apiVersion: string };
      };
    }
  >();
  /** When set, requests without `Bearer <token>` get 401. */
  token?: string;
  url = '';
  #server?: Server;
  #uid = 0;
  readonly #failures: { match: RegExp; status: number; times: number }[] = [];

  /** Starts on a random loopback port; with `tls` it serves HTTPS with that key and certificate. */
  async start(tls?: { key: Buffer; cert: Buffer }): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      void this.#handle(req, res);
    };
    this.#server = tls ? createHttps({ key: tls.key, cert: tls.cert }, handler) : createHttp(handler);
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `${tls ? 'https' : 'http'}://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.#server) return;
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server!.close(() => resolve()));
  }

  /** The next `times` requests whose `METHOD path` matches get `status`. */
  fail(match: RegExp, status: number, times = 1): void {
    this.#failures.push({ match, status, times });
  }

  /** A Deployment with `replicas`, its ReplicaSet and `pods` pods; returns the pods' uids. */
  addDeployment(namespace: string, name: string, replicas: number, pods = 1): string[] {
    this.replicas.set(`deployments/${namespace}/${name}`, replicas);
    const rs = `${name}-7f9c${this.#uid}`;
    this.replicaSets.set(`${namespace}/${rs}`, {
      metadata: {
        name: rs,
        namespace,
        uid: this.#newUid(),
        ownerReferences: [{ kind: 'Deployment', name, controller: true, apiVersion: 'apps/v1' }],
      },
    });
    return Array.from({ length: pods }, (_, k) =>
      this.addPod(namespace, `${rs}-p${k}`, { kind: 'ReplicaSet', name: rs }),
    );
  }

  /** A StatefulSet with `replicas` and one pod; returns the pod's uid. */
  addStatefulSet(namespace: string, name: string, replicas: number): string {
    this.replicas.set(`statefulsets/${namespace}/${name}`, replicas);
    return this.addPod(namespace, `${name}-0`, { kind: 'StatefulSet', name });
  }

  /** A pod owned by `owner` (or by nothing); returns its uid. */
  addPod(namespace: string, name: string, owner?: { kind: string; name: string }): string {
    const uid = this.#newUid();
    this.pods.set(`${namespace}/${name}`, {
      metadata: {
        name,
        namespace,
        uid,
        ownerReferences: owner ? [{ ...owner, controller: true, apiVersion: 'apps/v1' }] : undefined,
      },
    });
    return uid;
  }

  /** An HPA on a Deployment. */
  addHpa(namespace: string, name: string, deployment: string, minReplicas: number, maxReplicas: number): void {
    this.hpas.set(`${namespace}/${name}`, {
      metadata: { name, namespace },
      spec: {
        minReplicas,
        maxReplicas,
        scaleTargetRef: { kind: 'Deployment', name: deployment, apiVersion: 'apps/v1' },
      },
    });
  }

  /** PATCH requests (dry run or not). */
  patches(): KubeCall[] {
    return this.calls.filter((c) => c.method === 'PATCH');
  }

  #newUid(): string {
    return `0000-uid-${String(++this.#uid).padStart(4, '0')}`;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://x');
    const text = Buffer.concat(chunks).toString('utf8');
    const call: KubeCall = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: text ? JSON.parse(text) : undefined,
      contentType: req.headers['content-type'],
      authorization: req.headers.authorization,
    };
    this.calls.push(call);
    const f = this.#failures.find((x) => x.times > 0 && x.match.test(`${call.method} ${call.path}`));
    if (f) {
      f.times -= 1;
      return send(res, f.status, status(f.status, 'injected failure'));
    }
    if (this.token && call.authorization !== `Bearer ${this.token}`) return send(res, 401, status(401, 'Unauthorized'));
    // Authorization after authentication, as the API server does.
    const unlisted = unlistedCall(call);
    if (unlisted) {
      this.forbidden.push(unlisted);
      return send(res, 403, status(403, `${unlisted} (fake RBAC = src/kube/api-calls.ts)`));
    }
    if (call.method === 'PATCH' && call.contentType !== 'application/merge-patch+json')
      return send(res, 415, status(415, 'unsupported patch type'));
    const dry = call.query.dryRun === 'All';
    const p = call.path;
    let m: RegExpExecArray | null;
    if (call.method === 'GET' && p === '/api/v1/pods')
      return send(res, 200, { kind: 'PodList', items: [...this.pods.values()] });
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(p)) && call.method === 'GET') {
      const pod = this.pods.get(`${m[1]}/${m[2]}`);
      return pod ? send(res, 200, pod) : send(res, 404, status(404, 'pods not found'));
    }
    if ((m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/replicasets\/([^/]+)$/.exec(p)) && call.method === 'GET') {
      const rs = this.replicaSets.get(`${m[1]}/${m[2]}`);
      return rs ? send(res, 200, rs) : send(res, 404, status(404, 'replicasets not found'));
    }
    if ((m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/(deployments|statefulsets)\/([^/]+)\/scale$/.exec(p))) {
      const key = `${m[2]}/${m[1]}/${m[3]}`;
      if (!this.replicas.has(key)) return send(res, 404, status(404, `${m[2]} not found`));
      let replicas = this.replicas.get(key)!;
      if (call.method === 'PATCH') {
        const want = call.body?.spec?.replicas;
        if (!Number.isInteger(want) || want < 0)
          return send(res, 422, status(422, 'spec.replicas must be a non-negative integer'));
        if (!dry) this.replicas.set(key, want);
        replicas = want;
      }
      return send(res, 200, {
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        metadata: { name: m[3], namespace: m[1] },
        spec: { replicas },
        status: { replicas },
      });
    }
    if (
      (m = /^\/apis\/autoscaling\/v2\/namespaces\/([^/]+)\/horizontalpodautoscalers$/.exec(p)) &&
      call.method === 'GET'
    ) {
      return send(res, 200, {
        kind: 'HorizontalPodAutoscalerList',
        items: [...this.hpas.values()].filter((h) => h.metadata.namespace === m![1]),
      });
    }
    if (
      (m = /^\/apis\/autoscaling\/v2\/namespaces\/([^/]+)\/horizontalpodautoscalers\/([^/]+)$/.exec(p)) &&
      call.method === 'GET'
    ) {
      const h = this.hpas.get(`${m[1]}/${m[2]}`);
      return h ? send(res, 200, h) : send(res, 404, status(404, 'horizontalpodautoscalers not found'));
    }
    if (
      (m = /^\/apis\/autoscaling\/v2\/namespaces\/([^/]+)\/horizontalpodautoscalers\/([^/]+)$/.exec(p)) &&
      call.method === 'PATCH'
    ) {
      const h = this.hpas.get(`${m[1]}/${m[2]}`);
      if (!h) return send(res, 404, status(404, 'horizontalpodautoscalers not found'));
      const min = call.body?.spec?.minReplicas;
      if (!Number.isInteger(min) || min < 1 || min > h.spec.maxReplicas)
        return send(res, 422, status(422, 'minReplicas must be within 1..maxReplicas'));
      const next = { ...h, spec: { ...h.spec, minReplicas: min } };
      if (!dry) this.hpas.set(`${m[1]}/${m[2]}`, next);
      return send(res, 200, next);
    }
    return send(res, 404, status(404, `no route for ${call.method} ${p}`));
  }
}

function status(code: number, message: string): object {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, message };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

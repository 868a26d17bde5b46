/**
 * A local HTTP(S) server that speaks the Kubernetes API paths tripline uses: pods (list with `fieldSelector`
 * `spec.nodeName=` / `metadata.name=` and `limit`/`continue` pagination, watch as JSON lines from a resourceVersion,
 * get), replicasets (get), deployments/statefulsets scale subresource (GET, merge PATCH, `dryRun=All`), HPAs (list,
 * merge PATCH). Objects live in memory; every request is recorded; a token can be required (401 otherwise). Pod
 * changes (`addPod`, `modifyPod`, `deletePod`) bump a resourceVersion and reach open watches; `expireNextWatch`
 * answers the next watch with a 410 Gone ERROR event, as an API server does for a compacted resourceVersion. A request
 * that is not a call of src/kube/api-calls.ts gets 403, as from the deployed RBAC (`forbidden` lists them).
 */
import { randomBytes, randomUUID } from 'node:crypto';
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
  resourceVersion?: string;
  ownerReferences?: { kind: string; name: string; controller?: boolean; apiVersion?: string }[];
};

/** A pod as the fake keeps it (the parts tripline reads). */
export interface FakePod {
  metadata: Meta;
  spec: { nodeName: string; containers: { name: string }[] };
  status: {
    qosClass?: string;
    containerStatuses?: { name: string; containerID?: string }[];
    initContainerStatuses?: { name: string; containerID?: string }[];
  };
}

/** Options of a pod: its node, containers (name → runtime id, random when omitted) and QoS class. */
export interface PodOptions {
  readonly node?: string;
  readonly containers?: readonly string[];
  readonly qos?: string;
}

/** Field selectors of pods an API server supports (the ones tripline could use): others get 400. */
const POD_FIELDS = new Set(['spec.nodeName', 'metadata.name', 'metadata.namespace', 'status.phase']);

/** The fake API server. */
export class FakeKube {
  readonly calls: KubeCall[] = [];
  /** Requests RBAC would refuse: not in src/kube/api-calls.ts (answered 403, as the deployed ClusterRole would). */
  readonly forbidden: string[] = [];
  readonly pods = new Map<string, FakePod>();
  /** The node pods are put on unless told otherwise. */
  node = 'node-1';
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
  /** The resourceVersion of the last pod change. */
  #rv = 100;
  /** Pod changes in order, for watches that resume from a resourceVersion. */
  readonly #events: { type: 'ADDED' | 'MODIFIED' | 'DELETED'; rv: number; pod: FakePod }[] = [];
  readonly #watches = new Set<{ res: ServerResponse; node?: string; bookmarks: boolean }>();
  #expireNext = 0;
  #silent = false;
  readonly #failures: { match: RegExp; status: number; times: number }[] = [];

  /** Starts on a loopback port (random unless given); with `tls` it serves HTTPS with that key and certificate. */
  async start(tls?: { key: Buffer; cert: Buffer }, port = 0): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      void this.#handle(req, res);
    };
    this.#server = tls ? createHttps({ key: tls.key, cert: tls.cert }, handler) : createHttp(handler);
    await new Promise<void>((resolve) => this.#server!.listen(port, '127.0.0.1', resolve));
    this.url = `${tls ? 'https' : 'http'}://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.#server) return;
    this.closeWatches();
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

  /** A pod owned by `owner` (or by nothing), on `opts.node` (default: `node`); returns its uid. */
  addPod(namespace: string, name: string, owner?: { kind: string; name: string }, opts: PodOptions = {}): string {
    const uid = this.#newUid();
    const containers = opts.containers ?? ['app'];
    const pod: FakePod = {
      metadata: {
        name,
        namespace,
        uid,
        ownerReferences: owner ? [{ ...owner, controller: true, apiVersion: 'apps/v1' }] : undefined,
      },
      spec: { nodeName: opts.node ?? this.node, containers: containers.map((c) => ({ name: c })) },
      status: {
        qosClass: opts.qos ?? 'Burstable',
        containerStatuses: containers.map((c) => ({
          name: c,
          containerID: `containerd://${randomBytes(32).toString('hex')}`,
        })),
      },
    };
    this.#change('ADDED', pod);
    return uid;
  }

  /** Changes a pod (the function edits it in place) and tells watches (MODIFIED). */
  modifyPod(namespace: string, name: string, edit: (pod: FakePod) => void): void {
    const pod = this.pods.get(`${namespace}/${name}`);
    if (!pod) throw new Error(`fake-kube: no pod ${namespace}/${name}`);
    edit(pod);
    this.#change('MODIFIED', pod);
  }

  /** Deletes a pod and tells watches (DELETED). */
  deletePod(namespace: string, name: string): void {
    const pod = this.pods.get(`${namespace}/${name}`);
    if (!pod) throw new Error(`fake-kube: no pod ${namespace}/${name}`);
    this.#change('DELETED', pod);
  }

  /** Adds an object as given (any shape: to test what a client does with what it does not expect). */
  addRawPod(pod: any): void {
    this.#rv += 1;
    const key = `${pod?.metadata?.namespace}/${pod?.metadata?.name}/${this.#rv}`;
    this.pods.set(key, pod);
    this.#events.push({ type: 'ADDED', rv: this.#rv, pod });
    this.#broadcast('ADDED', pod);
  }

  /** The next `times` watches of pods get a 410 Gone ERROR event (their resourceVersion "compacted") and end. */
  expireNextWatch(times = 1): void {
    this.#expireNext += times;
  }

  /**
   * Runs `fn` with its pod changes hidden from watches (as if the API server compacted them away): only a relist
   * sees them. Pair it with `expireNextWatch` and `closeWatches`.
   */
  silently(fn: () => void): void {
    this.#silent = true;
    try {
      fn();
    } finally {
      this.#silent = false;
    }
  }

  /** Sends a BOOKMARK with the current resourceVersion to the watches that asked for bookmarks. */
  bookmark(): void {
    this.#rv += 1;
    for (const w of this.#watches)
      if (w.bookmarks)
        line(w.res, {
          type: 'BOOKMARK',
          object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(this.#rv) } },
        });
  }

  /** Ends every open watch (as an API server does after its timeout); clients reconnect. */
  closeWatches(): void {
    for (const w of this.#watches) w.res.end();
    this.#watches.clear();
  }

  /** Watches open now. */
  get openWatches(): number {
    return this.#watches.size;
  }

  /** GET calls on the pod collection (list and watch). */
  podCalls(): KubeCall[] {
    return this.calls.filter((c) => c.method === 'GET' && c.path === '/api/v1/pods');
  }

  #change(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: FakePod): void {
    this.#rv += 1;
    pod.metadata.resourceVersion = String(this.#rv);
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (type === 'DELETED') this.pods.delete(key);
    else this.pods.set(key, pod);
    if (this.#silent) return;
    const copy = structuredClone(pod);
    this.#events.push({ type, rv: this.#rv, pod: copy });
    this.#broadcast(type, copy);
  }

  #broadcast(type: string, pod: any): void {
    for (const w of this.#watches) if (!w.node || pod?.spec?.nodeName === w.node) line(w.res, { type, object: pod });
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
    this.#uid += 1;
    return randomUUID();
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
    if (call.method === 'GET' && p === '/api/v1/pods') return this.#pods(call, res);
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

  /** The pod collection: a list (selected, paginated) or a watch. */
  #pods(call: KubeCall, res: ServerResponse): void {
    const q = call.query;
    const sel: Record<string, string> = {};
    for (const part of (q.fieldSelector ?? '').split(',').filter(Boolean)) {
      const [k, v] = part.split('=');
      if (!POD_FIELDS.has(k!)) return send(res, 400, status(400, `field label not supported: ${k}`));
      sel[k!] = v ?? '';
    }
    const match = (pod: any): boolean =>
      (sel['spec.nodeName'] === undefined || pod?.spec?.nodeName === sel['spec.nodeName']) &&
      (sel['metadata.name'] === undefined || pod?.metadata?.name === sel['metadata.name']) &&
      (sel['metadata.namespace'] === undefined || pod?.metadata?.namespace === sel['metadata.namespace']);
    if (q.watch === 'true') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (this.#expireNext > 0) {
        this.#expireNext -= 1;
        line(res, { type: 'ERROR', object: status(410, 'too old resource version: 1 (2)') });
        res.end();
        return;
      }
      const from = Number(q.resourceVersion ?? 0);
      for (const e of this.#events) if (e.rv > from && match(e.pod)) line(res, { type: e.type, object: e.pod });
      const w = { res, node: sel['spec.nodeName'], bookmarks: q.allowWatchBookmarks === 'true' };
      this.#watches.add(w);
      res.on('close', () => this.#watches.delete(w));
      return;
    }
    const all = [...this.pods.values()].filter(match);
    const start = Number(q.continue ?? 0);
    const limit = Number(q.limit ?? 0) || all.length;
    const items = all.slice(start, start + limit);
    const next = start + limit < all.length ? String(start + limit) : undefined;
    return send(res, 200, {
      kind: 'PodList',
      apiVersion: 'v1',
      metadata: { resourceVersion: String(this.#rv), ...(next ? { continue: next } : {}) },
      items,
    });
  }
}

function line(res: ServerResponse, event: unknown): void {
  res.write(JSON.stringify(event) + '\n');
}

function status(code: number, message: string): object {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, message };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * The pods on this node, kept by client-node's informer (ListWatch): a list of `/api/v1/pods` with
 * `fieldSelector=spec.nodeName=<node>`, then a watch resumed from its resourceVersion; a 410 Gone (a compacted
 * resourceVersion) makes it relist. Read in node_modules/@kubernetes/client-node/dist/cache.js (2.0.1): any other
 * failure of the list or the watch calls the `error` callbacks and stops the informer, so this cache restarts it
 * with backoff (resuming from the last resourceVersion); its watch handler is async and would turn an odd event
 * (no metadata) into an unhandled rejection, so events reach it through a filter that slims each pod (pod-shape.ts)
 * and drops what is out of shape or over PODS_PER_NODE_MAX (counted). After each change the whole set is handed to
 * `onSnapshot`, debounced, so a relist of 110 pods is one snapshot.
 */
import type { KubeConfig, ListWatch } from '@kubernetes/client-node';
import { PODS_PER_NODE_MAX, type PodMeta, type PodSnapshot } from '../pod-meta.ts';
import type { ActionLogger } from '../actions/types.ts';
import { KubeClient } from './client.ts';
import { clientNode, type KubeCredentials } from './kubeconfig.ts';
import { podMeta, slimPod, type SlimPod } from './pod-shape.ts';
import { WorkloadResolver } from './workloads.ts';
import type { PodLookup } from './pod-lookup.ts';

export interface PodCacheOptions {
  readonly creds: KubeCredentials;
  readonly node: string;
  readonly log: ActionLogger;
  /** The whole set after each change (debounced). */
  readonly onSnapshot?: (s: PodSnapshot) => void;
  /** Quiet time before a snapshot is sent. @defaultValue 200 */
  readonly debounceMs?: number;
  /** Longest a change waits under constant churn. @defaultValue 1000 */
  readonly maxWaitMs?: number;
  /** Restart delays after a failure: base, doubled per failure up to max. @defaultValue [1000, 30000] */
  readonly backoffMs?: readonly [number, number];
}

type WatchCallback = (phase: string, obj: any, watchObj?: any) => unknown;
type DoneCallback = (err: any) => unknown;

/** Silence after which a watch is taken for dead and reopened. */
const WATCH_SILENCE_MS = 120_000;
/** Drop reasons logged at most this often. */
const LOG_DROPS_MS = 60_000;

/** The node's pods. */
export class PodCache implements PodLookup {
  readonly node: string;
  /** Pod objects dropped (out of shape, over the bound), by reason. */
  readonly dropped: Record<string, number> = {};
  /** Lists and watches that failed (each followed by a restart after a backoff). */
  failures = 0;
  readonly #o: PodCacheOptions;
  readonly #client: KubeClient;
  readonly #workloads: WorkloadResolver;
  /** `namespace/name` → the pod as the informer holds it and its PodMeta (undefined when out of shape). */
  readonly #pods = new Map<string, { pod: SlimPod; meta?: PodMeta }>();
  #informer?: ListWatch<any>;
  #synced = false;
  #listed = false;
  #stopped = false;
  #failures = 0;
  #restart?: NodeJS.Timeout;
  #emit?: NodeJS.Timeout;
  #dirtySince?: number;
  #loggedDrops = 0;
  #dropsLoggedAt = 0;
  #firstSync!: () => void;
  /** Resolves once the first list is in. */
  readonly firstSync = new Promise<void>((resolve) => (this.#firstSync = resolve));

  constructor(o: PodCacheOptions) {
    this.#o = o;
    this.node = o.node;
    this.#client = new KubeClient(o.creds);
    this.#workloads = new WorkloadResolver(this.#client);
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Starts listing and watching (returns at once; failures are retried, logged, never thrown). */
  start(): void {
    const cn = clientNode();
    const kc: KubeConfig = this.#o.creds.kubeConfig ?? new cn.KubeConfig();
    const inner = new cn.Watch(kc);
    // Its default 30 s of silence ends a watch: a quiet node would reconnect twice a minute. Bookmarks (asked for
    // below) come about once a minute, so 2 min of silence still means a dead connection.
    if (typeof (inner as any).requestTimeoutMs === 'number') (inner as any).requestTimeoutMs = WATCH_SILENCE_MS;
    const fieldSelector = `spec.nodeName=${this.node}`;
    const watch = {
      watch: (path: string, q: any, cb: WatchCallback, done: DoneCallback) => this.#watch(inner, path, q, cb, done),
    };
    const informer = new cn.ListWatch<any>(
      '/api/v1/pods',
      watch as never,
      () => this.#list(fieldSelector) as never,
      false,
      undefined,
      fieldSelector,
      // Its reconnect delays must not keep a stopped process alive.
      { delayFn: (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref()) },
    );
    informer.on('add', (p: SlimPod) => this.#put(p));
    informer.on('update', (p: SlimPod) => this.#put(p));
    informer.on('delete', (p: SlimPod) => this.#delete(p));
    informer.on('error', (err: unknown) => this.#failed(err));
    this.#informer = informer;
    this.#run();
  }

  /** Stops the informer and the timers. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restart);
    clearTimeout(this.#emit);
    await this.#informer?.stop().catch(() => undefined);
  }

  byUid(uid: string): PodMeta | undefined {
    for (const { meta } of this.#pods.values()) if (meta?.uid === uid) return meta;
    return undefined;
  }

  /** The pods known now. */
  snapshot(): PodSnapshot {
    const pods: PodMeta[] = [];
    for (const { meta } of this.#pods.values()) if (meta) pods.push(meta);
    return { pods };
  }

  #run(): void {
    this.#informer!.start().catch((err: unknown) => this.#failed(err));
  }

  /** The list the informer starts from: this node's pods, slimmed and bounded. */
  async #list(fieldSelector: string): Promise<{ metadata: { resourceVersion?: string }; items: SlimPod[] }> {
    const body = await this.#client.get<any>('/api/v1/pods', { fieldSelector });
    const items: SlimPod[] = [];
    for (const raw of Array.isArray(body?.items) ? body.items : []) {
      const pod = slimPod(raw);
      if (typeof pod === 'string') this.#drop(pod);
      else if (items.length >= PODS_PER_NODE_MAX) this.#drop('over_limit');
      else items.push(pod);
    }
    const rv = body?.metadata?.resourceVersion;
    this.#listed = true;
    this.#failures = 0;
    return { metadata: { resourceVersion: typeof rv === 'string' ? rv.slice(0, 64) : undefined }, items };
  }

  /** client-node's Watch, with each event filtered and every callback's failure caught. */
  async #watch(inner: any, path: string, q: any, cb: WatchCallback, done: DoneCallback): Promise<AbortController> {
    if (this.#listed) {
      // The informer calls watch right after applying a list: the cache is in sync with it now.
      this.#listed = false;
      if (!this.#synced) {
        this.#synced = true;
        this.#firstSync();
        this.#o.log.info({ node: this.node, pods: this.#pods.size }, 'pod cache: synced');
      }
      this.#schedule();
    }
    const safe = (p: unknown): void => {
      Promise.resolve(p).catch((err: unknown) => this.#failed(err));
    };
    const onDone: DoneCallback = (err) => safe(Promise.resolve().then(() => done(err)));
    const onEvent: WatchCallback = (phase, obj, raw) => {
      if (phase === 'ERROR' || phase === 'BOOKMARK') {
        safe(cb(phase, obj && typeof obj === 'object' ? obj : {}, raw));
        return;
      }
      if (phase !== 'ADDED' && phase !== 'MODIFIED' && phase !== 'DELETED') return;
      const pod = slimPod(obj);
      if (typeof pod === 'string') return this.#drop(pod);
      const known = this.#pods.has(`${pod.metadata.namespace}/${pod.metadata.name}`);
      if (phase !== 'DELETED' && !known && this.#pods.size >= PODS_PER_NODE_MAX) return this.#drop('over_limit');
      this.#failures = 0;
      safe(cb(phase, pod, raw));
    };
    // The server ends each watch after timeoutSeconds (spread so a fleet does not reconnect at once); it resumes.
    const query = { ...q, allowWatchBookmarks: true, timeoutSeconds: 300 + Math.floor(Math.random() * 300) };
    try {
      return await inner.watch(path, query, onEvent, onDone);
    } catch (err) {
      // Authentication (an exec plugin) can fail before the request: the informer hears it as a failed watch.
      onDone(err);
      return new AbortController();
    }
  }

  #put(pod: SlimPod): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const { workload, pending } = this.#workloads.known(pod);
    const meta = podMeta(pod, workload);
    if (typeof meta === 'string') this.#drop(meta);
    this.#pods.set(key, { pod, meta: typeof meta === 'string' ? undefined : meta });
    this.#schedule();
    if (!pending) return;
    this.#workloads.resolve(pod.metadata.namespace, pending).then(
      (w) => {
        const cur = this.#pods.get(key);
        if (cur?.pod !== pod) return; // replaced or deleted meanwhile
        const m = podMeta(pod, w);
        if (typeof m !== 'string') this.#pods.set(key, { pod, meta: m });
        this.#schedule();
      },
      (err: unknown) =>
        this.#o.log.warn(
          { pod: key, replicaset: pending.name, err: (err as Error)?.message },
          'pod cache: cannot read the ReplicaSet of a pod (its workload stays the ReplicaSet until the pod changes)',
        ),
    );
  }

  #delete(pod: SlimPod): void {
    this.#pods.delete(`${pod.metadata.namespace}/${pod.metadata.name}`);
    this.#schedule();
  }

  #drop(reason: string): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
    const total = Object.values(this.dropped).reduce((a, b) => a + b, 0);
    const now = Date.now();
    if (total > this.#loggedDrops && now - this.#dropsLoggedAt >= LOG_DROPS_MS) {
      this.#loggedDrops = total;
      this.#dropsLoggedAt = now;
      this.#o.log.warn(
        { node: this.node, dropped: { ...this.dropped }, max: PODS_PER_NODE_MAX },
        'pod cache: pod objects dropped (out of shape, or more pods than one node can run)',
      );
    }
  }

  /** After a failure the informer has stopped: start it again after a backoff (it resumes from its resourceVersion). */
  #failed(err: unknown): void {
    if (this.#stopped || this.#restart) return;
    this.failures += 1;
    const [base, max] = this.#o.backoffMs ?? [1000, 30_000];
    const delay = Math.min(max, base * 2 ** Math.min(this.#failures, 16)) * (0.8 + Math.random() * 0.4);
    this.#failures += 1;
    this.#o.log.warn(
      { node: this.node, err: (err as Error)?.message ?? String(err), retryMs: Math.round(delay) },
      'pod cache: listing or watching pods failed; retrying',
    );
    this.#restart = setTimeout(() => {
      this.#restart = undefined;
      if (!this.#stopped) this.#run();
    }, delay);
    this.#restart.unref();
  }

  #schedule(): void {
    if (!this.#synced || this.#stopped) return;
    const now = Date.now();
    this.#dirtySince ??= now;
    clearTimeout(this.#emit);
    const wait = Math.max(0, Math.min(this.#o.debounceMs ?? 200, this.#dirtySince + (this.#o.maxWaitMs ?? 1000) - now));
    this.#emit = setTimeout(() => {
      this.#dirtySince = undefined;
      try {
        this.#o.onSnapshot?.(this.snapshot());
      } catch (err) {
        this.#o.log.error({ err: (err as Error)?.message }, 'pod cache: snapshot handler failed');
      }
    }, wait);
    this.#emit.unref();
  }
}

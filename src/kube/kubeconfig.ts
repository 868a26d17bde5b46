/**
 * Where the Kubernetes API is and how to authenticate, loaded one way: @kubernetes/client-node's `KubeConfig`
 * (kubeconfig files merged as kubectl does, exec and auth-provider plugins, token files reread, client
 * certificates), from `kubernetes.kubeconfig` / KUBECONFIG (several files, `a:b`), else the in-cluster service
 * account; `kubernetes.api_url` overrides the server (a local proxy, a test server). client-node is loaded only
 * here, on first use (it is large: see bench/pod-cache.ts), and only on the network side. Errors name the file and
 * what is missing, never a token.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { TriplineError } from '../errors.ts';
import { assertCredentialTransport } from '../actions/token-transport.ts';

/** client-node's module. */
export type ClientNode = typeof import('@kubernetes/client-node');

let loaded: ClientNode | undefined;
/**
 * Loads client-node on first use. `require` of the ES module (Node ≥ 22.12) keeps credential loading synchronous, so
 * the scale action builds its client as before; the network side's pod cache shares the same module instance.
 */
export function clientNode(): ClientNode {
  loaded ??= createRequire(import.meta.url)('@kubernetes/client-node') as ClientNode;
  return loaded;
}

/** How to reach and authenticate to one API server. */
export interface KubeCredentials {
  readonly server: string;
  /** Where these came from, for messages: kubeconfig paths, `in-cluster` or `api_url`. */
  readonly source: string;
  /** Adds the CA, client certificate, agent and Authorization header (plugins run here) to one request's options. */
  readonly apply?: (opts: RequestOptions) => Promise<void>;
  /** The loaded config (the pod cache's watch authenticates with it); absent for a bare server. */
  readonly kubeConfig?: KubeConfig;
}

/** The service account folder mounted into every pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The `kubernetes:` settings credentials come from. */
export interface KubeSettings {
  readonly kubeconfig?: string;
  readonly api_url?: string;
}

/** True when credentials can be looked for (a kubeconfig, api_url, or a service account): no client-node needed. */
export function kubernetesConfigured(kube: KubeSettings, env: NodeJS.ProcessEnv, dir = SERVICE_ACCOUNT_DIR): boolean {
  return Boolean(kube.kubeconfig || kube.api_url || (env.KUBERNETES_SERVICE_HOST && existsSync(`${dir}/token`)));
}

function configError(what: string, hint?: string, cause?: unknown): TriplineError {
  return new TriplineError('ACTION_ERR_CONFIG', what, {
    hint:
      hint ??
      'check the kubeconfig (kubernetes.kubeconfig or KUBECONFIG): current-context must name a context whose cluster has a server',
    cause,
  });
}

/**
 * Loads kubeconfig files (`a:b`, as KUBECONFIG lists them): files that do not exist are skipped, as kubectl does;
 * later files add clusters, users and contexts, the first file's current-context wins. Relative paths in a file
 * resolve against its folder.
 */
export function loadKubeconfigFiles(list: string): KubeConfig {
  const { KubeConfig } = clientNode();
  const paths = list.split(':').filter(Boolean);
  const files = paths.filter((p) => existsSync(p));
  if (files.length === 0)
    throw configError(
      `cannot read kubeconfig ${paths.join(':') || JSON.stringify(list)}: no such file`,
      'set kubernetes.kubeconfig or KUBECONFIG to a readable file, or run in the cluster',
    );
  let kc: KubeConfig | undefined;
  for (const file of files) {
    const one = new KubeConfig();
    try {
      one.loadFromFile(file);
    } catch (cause) {
      const msg = (cause as Error).message.split('\n')[0];
      throw configError(
        `${file}: ${/YAML|yaml/.test((cause as Error).name) ? 'not valid YAML: ' : ''}${msg}`,
        undefined,
        cause,
      );
    }
    if (!kc) kc = one;
    else mergeKubeconfig(kc, one);
  }
  checkCurrent(kc!, files.join(':'));
  return kc!;
}

/** kubectl's merge: the first definition of a name wins, the first current-context wins. */
function mergeKubeconfig(into: KubeConfig, next: KubeConfig): void {
  const add = <T extends { name: string }>(have: readonly T[], more: readonly T[]): T[] => [
    ...have,
    ...more.filter((m) => !have.some((h) => h.name === m.name)),
  ];
  into.loadFromOptions({
    clusters: add(into.getClusters(), next.getClusters()),
    users: add(into.getUsers(), next.getUsers()),
    contexts: add(into.getContexts(), next.getContexts()),
    currentContext: into.getCurrentContext() || next.getCurrentContext(),
  });
}

function checkCurrent(kc: KubeConfig, source: string): void {
  const name = kc.getCurrentContext();
  if (!name) throw configError(`${source}: no current-context`);
  const ctx = kc.getContextObject(name);
  if (!ctx) throw configError(`${source}: context ${JSON.stringify(name)} not found`);
  const cluster = kc.getCluster(ctx.cluster);
  if (!cluster) throw configError(`${source}: cluster ${JSON.stringify(ctx.cluster)} not found`);
  if (!cluster.server) throw configError(`${source}: cluster ${JSON.stringify(ctx.cluster)} has no server`);
  if (ctx.user && !kc.getUser(ctx.user)) throw configError(`${source}: user ${JSON.stringify(ctx.user)} not found`);
}

/**
 * The in-cluster service account (token file reread every minute, as client-go does; the kubelet rotates it), or
 * undefined outside a pod. Like client-node's loadFromCluster, with the environment and folder passed in.
 */
export function inClusterConfig(env: NodeJS.ProcessEnv, dir: string = SERVICE_ACCOUNT_DIR): KubeConfig | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host || !existsSync(`${dir}/token`)) return undefined;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const kc = new (clientNode().KubeConfig)();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'in-cluster',
        server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
        caFile: existsSync(`${dir}/ca.crt`) ? `${dir}/ca.crt` : undefined,
        skipTLSVerify: false,
      },
    ],
    users: [{ name: 'in-cluster', authProvider: { name: 'tokenFile', config: { tokenFile: `${dir}/token` } } }],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'in-cluster' }],
    currentContext: 'in-cluster',
  });
  return kc;
}

/** `kc` with the current cluster's server replaced (or a bare config for that server). */
function withServer(kc: KubeConfig | undefined, apiUrl: string): KubeConfig {
  const server = apiUrl.replace(/\/+$/, '');
  const out = new (clientNode().KubeConfig)();
  if (!kc) {
    out.loadFromClusterAndUser({ name: 'api_url', server, skipTLSVerify: false }, { name: 'api_url' });
    return out;
  }
  const current = kc.getCurrentCluster()!;
  out.loadFromOptions({
    clusters: kc.getClusters().map((c) => (c.name === current.name ? { ...c, server } : c)),
    users: kc.getUsers(),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext(),
  });
  return out;
}

/**
 * client-node refuses an `http:` server unless its cluster says skipTLSVerify; there is no TLS to verify there, and
 * whether a credential may go to it is decided by assertCredentialTransport (loopback only), so say it.
 */
function plainHttp(kc: KubeConfig): KubeConfig {
  if (!kc.getClusters().some((c) => c.server.startsWith('http:') && !c.skipTLSVerify)) return kc;
  const out = new (clientNode().KubeConfig)();
  out.loadFromOptions({
    clusters: kc.getClusters().map((c) => (c.server.startsWith('http:') ? { ...c, skipTLSVerify: true } : c)),
    users: kc.getUsers(),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext(),
  });
  return out;
}

/**
 * Picks credentials: kubeconfig files when configured, else the in-cluster service account; `api_url` overrides the
 * server of either (or stands alone, with no credentials). A credential is sent only over HTTPS or to loopback.
 */
export function resolveCredentials(
  kube: KubeSettings,
  env: NodeJS.ProcessEnv,
  dir = SERVICE_ACCOUNT_DIR,
): KubeCredentials {
  let kc: KubeConfig | undefined;
  let source: string;
  if (kube.kubeconfig) {
    kc = loadKubeconfigFiles(kube.kubeconfig);
    source = kube.kubeconfig;
  } else {
    kc = inClusterConfig(env, dir);
    source = 'in-cluster';
  }
  if (kube.api_url) {
    source = kc ? `${source} (server from api_url)` : 'api_url';
    kc = withServer(kc, kube.api_url);
  }
  if (!kc)
    throw configError(
      'no Kubernetes credentials: no kubeconfig, not in a cluster, no api_url',
      'set KUBECONFIG (kubernetes.kubeconfig), run tripline as a pod with a service account, or set kubernetes.api_url',
    );
  kc = plainHttp(kc);
  const server = kc.getCurrentCluster()!.server.replace(/\/+$/, '');
  const user = kc.getCurrentUser();
  if (user && (user.token || user.authProvider || user.exec || user.username))
    assertCredentialTransport(server, `Kubernetes server (${source})`);
  const config = kc;
  return {
    server,
    source,
    kubeConfig: config,
    apply: async (opts) => {
      await config.applyToHTTPSOptions(opts);
      // A token file written with a trailing newline (client-node sends it as read) would make an invalid header.
      const h = opts.headers as Record<string, string> | undefined;
      if (h?.Authorization) h.Authorization = h.Authorization.trim();
    },
  };
}

/**
 * Where the Kubernetes API is and how to authenticate: `kubernetes.api_url` (override), a kubeconfig file
 * (`kubernetes.kubeconfig` / KUBECONFIG: current-context → cluster server + CA, user token or client cert), or the
 * in-cluster service account (/var/run/secrets/kubernetes.io/serviceaccount + KUBERNETES_SERVICE_HOST/PORT).
 * Credentials stay in memory; errors name the file and the missing key, never a token.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { TriplineError } from '../errors.ts';
import { assertCredentialTransport } from '../actions/token-transport.ts';

/** How to reach and authenticate to one API server. */
export interface KubeCredentials {
  readonly server: string;
  readonly ca?: Buffer;
  readonly token?: string;
  /** A file holding the token, reread now and then (the kubelet rotates service account tokens). */
  readonly tokenFile?: string;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly insecureSkipTlsVerify?: boolean;
  /** Where these came from, for messages: a kubeconfig path, `in-cluster` or `api_url`. */
  readonly source: string;
}

/** `creds` (or none) with the server `api_url` names. */
function withServer(creds: KubeCredentials | undefined, apiUrl: string): KubeCredentials {
  return {
    ...(creds ?? {}),
    server: apiUrl.replace(/\/+$/, ''),
    source: creds ? `${creds.source} (server from api_url)` : 'api_url',
  };
}

/** The service account folder mounted into every pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Parses kubeconfig text (YAML) for its current context. Relative file paths resolve against the file's folder. */
export function parseKubeconfig(text: string, file: string): KubeCredentials {
  const fail = (what: string): never => {
    throw new TriplineError('ACTION_ERR_CONFIG', `${file}: ${what}`, {
      hint: 'check the kubeconfig (kubernetes.kubeconfig or KUBECONFIG): current-context must name a context whose cluster has a server',
    });
  };
  let doc: any;
  try {
    doc = parse(text, { maxAliasCount: 50 });
  } catch (cause) {
    fail(`not valid YAML: ${(cause as Error).message.split('\n')[0]}`);
  }
  if (!doc || typeof doc !== 'object') fail('empty or not a mapping');
  const ctxName = doc['current-context'];
  if (!ctxName) fail('no current-context');
  const named = (list: unknown, name: string, what: string): any => {
    const hit = Array.isArray(list) ? list.find((e: any) => e?.name === name) : undefined;
    return hit ?? fail(`${what} ${JSON.stringify(name)} not found`);
  };
  const context = named(doc.contexts, ctxName, 'context').context ?? {};
  const cluster = named(doc.clusters, context.cluster, 'cluster').cluster ?? {};
  const user = context.user ? (named(doc.users, context.user, 'user').user ?? {}) : {};
  if (typeof cluster.server !== 'string' || !cluster.server)
    fail(`cluster ${JSON.stringify(context.cluster)} has no server`);
  const base = dirname(file);
  const data = (inline: unknown, path: unknown, what: string): Buffer | undefined => {
    if (typeof inline === 'string' && inline) return Buffer.from(inline, 'base64');
    if (typeof path === 'string' && path) {
      const p = isAbsolute(path) ? path : resolve(base, path);
      try {
        return readFileSync(p);
      } catch {
        return fail(`${what} file ${p} cannot be read`);
      }
    }
    return undefined;
  };
  let token: string | undefined = typeof user.token === 'string' ? user.token : undefined;
  if (!token && typeof user.tokenFile === 'string')
    token = data(undefined, user.tokenFile, 'tokenFile')?.toString('utf8').trim();
  if (user.exec || user['auth-provider']) {
    if (!token && !user['client-certificate'] && !user['client-certificate-data'])
      fail(
        `user ${JSON.stringify(context.user)} uses an exec/auth-provider plugin, which tripline does not run; use a token or a client certificate`,
      );
  }
  return {
    server: cluster.server.replace(/\/+$/, ''),
    ca: data(cluster['certificate-authority-data'], cluster['certificate-authority'], 'certificate-authority'),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    token,
    cert: data(user['client-certificate-data'], user['client-certificate'], 'client-certificate'),
    key: data(user['client-key-data'], user['client-key'], 'client-key'),
    source: file,
  };
}

/** The in-cluster service account's credentials, or undefined outside a pod. */
export function inClusterCredentials(
  env: NodeJS.ProcessEnv,
  dir: string = SERVICE_ACCOUNT_DIR,
): KubeCredentials | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host || !existsSync(`${dir}/token`)) return undefined;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    // The kubelet rotates this file; the client rereads it (see KubeClient).
    tokenFile: `${dir}/token`,
    ca: existsSync(`${dir}/ca.crt`) ? readFileSync(`${dir}/ca.crt`) : undefined,
    source: 'in-cluster',
  };
}

/**
 * Picks credentials: a kubeconfig when configured, else the in-cluster service account; `api_url` overrides the
 * server of either (or stands alone, e.g. a local proxy or a test server, with no credentials).
 */
export function resolveCredentials(
  kube: { readonly kubeconfig?: string; readonly api_url?: string },
  env: NodeJS.ProcessEnv,
): KubeCredentials {
  let creds: KubeCredentials | undefined;
  if (kube.kubeconfig) {
    // KUBECONFIG may list several files (`a:b`); tripline reads the first that exists (no merging).
    const paths = kube.kubeconfig.split(':').filter(Boolean);
    const file = paths.find((p) => existsSync(p)) ?? paths[0] ?? kube.kubeconfig;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      throw new TriplineError('ACTION_ERR_CONFIG', `cannot read kubeconfig ${file}: ${(cause as Error).message}`, {
        hint: 'set kubernetes.kubeconfig or KUBECONFIG to a readable file, or run in the cluster',
        cause,
      });
    }
    creds = parseKubeconfig(text, file);
  } else {
    creds = inClusterCredentials(env);
  }
  if (kube.api_url) creds = withServer(creds, kube.api_url);
  if (creds && (creds.token || creds.tokenFile))
    assertCredentialTransport(creds.server, `Kubernetes server (${creds.source})`);
  if (!creds) {
    throw new TriplineError(
      'ACTION_ERR_CONFIG',
      'no Kubernetes credentials: no kubeconfig, not in a cluster, no api_url',
      {
        hint: 'set KUBECONFIG (kubernetes.kubeconfig), run tripline as a pod with a service account, or set kubernetes.api_url',
      },
    );
  }
  return creds;
}

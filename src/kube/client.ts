/**
 * A minimal Kubernetes REST client over node:https/http: GET, LIST and merge-PATCH (with server-side `dryRun=All`),
 * JSON in and out, bearer token or client certificate, the cluster's CA. Failures become the action error classes:
 * 429 parks for Retry-After, 5xx/409/network retry, 401/403/404/422 do not (with an RBAC hint where it helps).
 */
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { RequestOptions } from 'node:https';
import { RateLimitedError, RetryableError, UnrecoverableError, parseRetryAfter } from '../actions/errors.ts';
import type { KubeCredentials } from './kubeconfig.ts';
import { assertListedCall } from './api-call-check.ts';

/** Per-request timeout: a hung API server fails the attempt as retryable. */
const TIMEOUT_MS = 10_000;
/** Largest response body read (a page of 500 pods is 2–10 MB; lists are paginated or node-scoped): past it, cut off. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** A whole request, answer included: `timeout` only catches a silent socket, not one that trickles bytes forever. */
const DEADLINE_MS = 30_000;
/** A credential plugin (exec, auth provider) that has not answered by then fails the attempt (retried later). */
const CREDENTIALS_TIMEOUT_MS = 30_000;

/** An HTTP failure from the API server; `status` lets callers treat 404 as "absent". */
export class KubeHttpError extends UnrecoverableError {
  readonly status: number;
  constructor(status: number, method: string, path: string, message: string) {
    const hint =
      status === 401 || status === 403
        ? "grant tripline's service account the calls of src/kube/api-calls.ts (deploy/kubernetes/rbac.yaml: kubectl apply -k deploy/kubernetes)"
        : undefined;
    super(`kubernetes ${method} ${path}: HTTP ${status}${message ? `: ${message}` : ''}`, {
      reason: `http_${status}`,
      hint,
    });
    this.name = 'KubeHttpError';
    this.status = status;
  }
}

/** The client. Paths are API paths (`/apis/apps/v1/...`); the server comes from the credentials. */
export class KubeClient {
  readonly creds: KubeCredentials;
  readonly #timeoutMs: number;
  readonly #deadlineMs: number;
  readonly #maxBodyBytes: number;
  readonly #credentialsTimeoutMs: number;

  /**
   * Limits: `timeoutMs` (silent socket), `deadlineMs` (whole request), `maxBodyBytes` (answer),
   * `credentialsTimeoutMs` (a credential plugin); tests lower them.
   */
  constructor(
    creds: KubeCredentials,
    opts: { timeoutMs?: number; deadlineMs?: number; maxBodyBytes?: number; credentialsTimeoutMs?: number } = {},
  ) {
    this.creds = creds;
    this.#credentialsTimeoutMs = opts.credentialsTimeoutMs ?? CREDENTIALS_TIMEOUT_MS;
    this.#timeoutMs = opts.timeoutMs ?? TIMEOUT_MS;
    this.#deadlineMs = opts.deadlineMs ?? DEADLINE_MS;
    this.#maxBodyBytes = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  }

  /** GET a resource or list; `query` is appended URL-encoded. */
  async get<T>(path: string, query: Record<string, string> = {}): Promise<T> {
    return this.#call<T>('GET', withQuery(path, query));
  }

  /** PATCH with `application/merge-patch+json`; `dryRun` asks the server to validate without persisting. */
  async patch<T>(path: string, body: unknown, dryRun = false): Promise<T> {
    return this.#call<T>('PATCH', withQuery(path, dryRun ? { dryRun: 'All' } : {}), body);
  }

  async #call<T>(method: 'GET' | 'PATCH', path: string, body?: unknown): Promise<T> {
    // Only the calls of src/kube/api-calls.ts (what the deployed RBAC grants) leave the process.
    const [apiPath, q] = path.split('?', 2);
    assertListedCall(method, apiPath!, Object.fromEntries(new URLSearchParams(q)));
    const url = new URL(this.creds.server + path);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (payload) {
      headers['Content-Type'] = 'application/merge-patch+json';
      headers['Content-Length'] = String(payload.length);
    }
    const opts: RequestOptions = { method, headers, timeout: this.#timeoutMs };
    try {
      // client-node's KubeConfig: CA, client certificate, agent, and the Authorization header (token, token file,
      // exec or auth-provider plugin, which may run a command here).
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        const ms = this.#credentialsTimeoutMs;
        timer = setTimeout(() => reject(new Error(`the credential plugin did not answer in ${ms} ms`)), ms);
      });
      try {
        await Promise.race([this.creds.apply?.(opts), late]);
      } finally {
        clearTimeout(timer);
      }
    } catch (err) {
      // A plugin's error may carry its whole stderr: a line of it is enough to act on.
      const why = String((err as Error).message ?? err).slice(0, 300);
      throw new RetryableError(`kubernetes ${method} ${path}: credentials from ${this.creds.source}: ${why}`, {
        reason: 'auth',
      });
    }
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, opts);
    return new Promise<T>((resolve, reject) => {
      const deadline = setTimeout(
        () => req.destroy(new Error(`no complete answer in ${this.#deadlineMs} ms`)),
        this.#deadlineMs,
      );
      req.on('close', () => clearTimeout(deadline));
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.#timeoutMs} ms`)));
      req.on('error', (err) =>
        reject(new RetryableError(`kubernetes ${method} ${path}: ${err.message}`, { reason: 'network' })),
      );
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > this.#maxBodyBytes) {
            req.destroy(new Error(`answer over ${this.#maxBodyBytes} bytes, cut off`));
            return;
          }
          chunks.push(c);
        });
        res.on('error', (err) =>
          reject(new RetryableError(`kubernetes ${method} ${path}: ${err.message}`, { reason: 'network' })),
        );
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          if (status >= 200 && status < 300) {
            try {
              resolve(JSON.parse(text) as T);
            } catch {
              reject(new RetryableError(`kubernetes ${method} ${path}: answer is not JSON`, { reason: 'bad_answer' }));
            }
            return;
          }
          let message = '';
          try {
            message = String((JSON.parse(text) as { message?: string }).message ?? '');
          } catch {
            /* not a Status object */
          }
          message = message.slice(0, 300);
          if (status === 429)
            reject(
              new RateLimitedError(
                `kubernetes ${method} ${path}: too many requests`,
                parseRetryAfter(res.headers['retry-after'] as string | undefined, 1000),
                { reason: 'http_429' },
              ),
            );
          else if (status >= 500 || status === 409 || status === 408)
            reject(
              new RetryableError(`kubernetes ${method} ${path}: HTTP ${status}${message ? `: ${message}` : ''}`, {
                reason: `http_${status}`,
              }),
            );
          else reject(new KubeHttpError(status, method, path, message));
        });
      });
      req.end(payload);
    });
  }
}

function withQuery(path: string, query: Record<string, string>): string {
  const q = new URLSearchParams(query).toString();
  return q ? `${path}${path.includes('?') ? '&' : '?'}${q}` : path;
}

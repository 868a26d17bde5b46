/**
 * The HTTP server: /metrics, /healthz (process alive), /readyz (sampler has ticked), and JSON routes other modules
 * mount with `route()`. Bad requests get JSON errors; a throwing handler gets a 500 and never takes the process down.
 * `inject()` runs a request without a socket (tests); `listen()` serves on node:http.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type IncomingHttpHeaders,
} from 'node:http';
import { chmodSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { TriplineError } from '../errors.ts';
import { Router, type ApiResponse, type RouteHandler } from './router.ts';
import { checkApiRequest, type ApiAccess } from './auth.ts';

export type { ApiRequest, ApiResponse, RouteHandler } from './router.ts';

/** A request for `inject`. */
export interface InjectRequest {
  readonly method: string;
  readonly url: string;
  readonly headers?: IncomingHttpHeaders;
  readonly body?: string | Buffer;
}
/** A response as bytes would carry it. */
export interface InjectResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface ServerOptions {
  /** Serves GET /metrics when given. */
  readonly metrics?: { scrape(): Promise<string>; readonly contentType: string };
  /** /readyz: true when ready, else the reason it is not. @defaultValue always ready */
  readonly ready?: () => true | string;
  /** Request bodies above this are refused with 413. @defaultValue 64 KiB */
  readonly maxBodyBytes?: number;
  /**
   * Who may call `/api` routes (bearer token, Host names): every `/api` request is checked before routing.
   * Without it the server refuses to mount the API (`mountApi`), so the API is never served open.
   */
  readonly api?: ApiAccess;
  /** Called with unexpected handler errors (log them; the client only sees "internal error"). */
  readonly onError?: (err: unknown, req: { method: string; url: string }) => void;
}

export interface TriplineServer {
  /** True when `/api` requests are authenticated (ServerOptions.api). */
  readonly apiProtected: boolean;
  /** Mounts a JSON route, e.g. `route('GET', '/api/incidents/:id', handler)`. */
  route(method: string, pattern: string, handler: RouteHandler): void;
  inject(req: InjectRequest): Promise<InjectResponse>;
  /** Listens on "host:port" (port 0 = any free port); resolves with the bound address. */
  listen(address: string): Promise<{ host: string; port: number }>;
  close(): Promise<void>;
}

/** Splits "host:port", "[::1]:port" or ":port" (or "unix:/path" for a Unix socket); throws CONFIG_ERR_INVALID naming the fix. */
export function parseListen(address: string): { host: string; port: number } | { path: string } {
  if (address.startsWith('unix:')) {
    const path = address.slice(5);
    if (!path.startsWith('/'))
      throw new TriplineError('CONFIG_ERR_INVALID', `listen: bad address ${JSON.stringify(address)}`, {
        hint: 'write unix:/absolute/path.sock',
      });
    return { path };
  }
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(address.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535)
    throw new TriplineError('CONFIG_ERR_INVALID', `listen: bad address ${JSON.stringify(address)}`, {
      hint: 'write host:port, e.g. 127.0.0.1:9464 or [::1]:9464, or unix:/path.sock',
    });
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

const jsonError = (status: number, code: string, message: string, hint = ''): ApiResponse => ({
  status,
  json: { error: { code, message, hint } },
});

/** Creates the server; nothing listens until `listen()`. */
export function createServer(opts: ServerOptions = {}): TriplineServer {
  const router = new Router();
  const maxBody = opts.maxBodyBytes ?? 64 * 1024;
  let http: Server | undefined;

  router.add('GET', '/healthz', () => ({ json: { status: 'ok' } }));
  router.add('GET', '/readyz', () => {
    const r = opts.ready ? opts.ready() : true;
    return r === true ? { json: { status: 'ready' } } : { status: 503, json: { status: 'not ready', reason: r } };
  });
  if (opts.metrics) {
    const m = opts.metrics;
    router.add('GET', '/metrics', async () => ({ text: await m.scrape(), contentType: m.contentType }));
  }

  async function dispatch(
    method: string,
    url: string,
    headers: IncomingHttpHeaders,
    body: Buffer | undefined,
  ): Promise<ApiResponse> {
    let parsed: URL;
    try {
      parsed = new URL(url, 'http://localhost');
    } catch {
      return jsonError(400, 'SERVER_ERR_REQUEST', `bad URL ${JSON.stringify(url)}`);
    }
    if (parsed.pathname === '/api' || parsed.pathname.startsWith('/api/')) {
      const refused = opts.api
        ? checkApiRequest(opts.api, method, headers, body)
        : { status: 404, code: 'SERVER_ERR_REQUEST', message: 'the API is not served here', hint: '' };
      if (refused) {
        const r = jsonError(refused.status, refused.code, refused.message, refused.hint);
        return refused.status === 401 ? { ...r, headers: { 'www-authenticate': 'Bearer realm="tripline"' } } : r;
      }
    }
    const hit = router.match(method, parsed.pathname);
    if (!hit) {
      const routes = router.list();
      return jsonError(
        404,
        'SERVER_ERR_REQUEST',
        `no route for ${parsed.pathname}`,
        `routes: ${routes.slice(0, 30).join(', ')}${routes.length > 30 ? ', …' : ''}`,
      );
    }
    if ('allowed' in hit)
      return {
        ...jsonError(
          405,
          'SERVER_ERR_REQUEST',
          `${method} not allowed on ${parsed.pathname}`,
          `use ${hit.allowed.join(', ')}`,
        ),
        headers: { allow: hit.allowed.join(', ') },
      };
    let json: unknown;
    if (body && body.length > 0) {
      const type = String(headers['content-type'] ?? 'application/json');
      if (!type.includes('json'))
        return jsonError(415, 'SERVER_ERR_REQUEST', `unsupported content type ${type}`, 'send application/json');
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch (err) {
        return jsonError(
          400,
          'SERVER_ERR_REQUEST',
          `request body is not valid JSON: ${(err as Error).message}`,
          'send a JSON document',
        );
      }
    }
    try {
      return await hit.handler({
        method,
        path: parsed.pathname,
        query: parsed.searchParams,
        params: hit.params,
        headers,
        body: json,
      });
    } catch (err) {
      if (err instanceof TriplineError)
        return jsonError(err.code.endsWith('_NOT_FOUND') ? 404 : 400, err.code, err.message, err.hint);
      opts.onError?.(err, { method, url });
      return jsonError(500, 'SERVER_ERR_REQUEST', 'internal error', 'see the engine log');
    }
  }

  function render(method: string, res: ApiResponse): InjectResponse {
    const isJson = res.text === undefined;
    const body = isJson ? `${JSON.stringify(res.json ?? null)}\n` : res.text!;
    const headers: Record<string, string> = {
      'content-type': isJson ? 'application/json; charset=utf-8' : (res.contentType ?? 'text/plain; charset=utf-8'),
      ...res.headers,
    };
    headers['content-length'] = String(Buffer.byteLength(body));
    return { status: res.status ?? 200, headers, body: method === 'HEAD' ? '' : body };
  }

  async function readBody(req: IncomingMessage): Promise<Buffer | 'too large'> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > maxBody) return 'too large';
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks);
  }

  return {
    apiProtected: opts.api !== undefined,
    route(method, pattern, handler) {
      router.add(method, pattern, handler);
    },
    async inject(req) {
      const body = req.body === undefined ? undefined : Buffer.from(req.body);
      if (body && body.length > maxBody)
        return render(req.method, jsonError(413, 'SERVER_ERR_REQUEST', `body over ${maxBody} bytes`, 'send less'));
      return render(req.method, await dispatch(req.method.toUpperCase(), req.url, req.headers ?? {}, body));
    },
    async listen(address) {
      const where = parseListen(address);
      http = createHttpServer((req, res) => {
        void (async () => {
          const method = (req.method ?? 'GET').toUpperCase();
          let out: InjectResponse;
          try {
            const body = await readBody(req);
            out =
              body === 'too large'
                ? render(method, jsonError(413, 'SERVER_ERR_REQUEST', `body over ${maxBody} bytes`, 'send less'))
                : render(method, await dispatch(method, req.url ?? '/', req.headers, body));
          } catch (err) {
            opts.onError?.(err, { method, url: req.url ?? '' });
            out = render(method, jsonError(500, 'SERVER_ERR_REQUEST', 'internal error', 'see the engine log'));
          }
          if (out.status === 413) res.setHeader('connection', 'close');
          res.writeHead(out.status, out.headers).end(out.body);
        })().catch((err) => {
          opts.onError?.(err, { method: req.method ?? '', url: req.url ?? '' });
          res.destroy();
        });
      });
      // Malformed HTTP: answer 400 and drop the connection instead of letting the error escape.
      http.on('clientError', (_err, socket) => {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
        else socket.destroy();
      });
      http.requestTimeout = 30_000;
      http.headersTimeout = 10_000;
      await new Promise<void>((resolve, reject) => {
        http!.once('error', (err) =>
          reject(
            new TriplineError('CONFIG_ERR_INVALID', `cannot listen on ${address}: ${err.message}`, {
              hint: 'pick a free port with --listen or listen: in the config',
              cause: err,
            }),
          ),
        );
        if ('path' in where) {
          rmSync(where.path, { force: true }); // a socket left by a previous run
          http!.listen(where.path, () => {
            chmodSync(where.path, 0o660); // the owner and its group (e.g. a sidecar), nobody else
            resolve();
          });
        } else http!.listen(where.port, where.host, () => resolve());
      });
      if ('path' in where) return { host: `unix:${where.path}`, port: 0 };
      const a = http.address() as AddressInfo;
      return { host: a.address, port: a.port };
    },
    async close() {
      if (!http) return;
      const h = http;
      http = undefined;
      h.closeAllConnections();
      await new Promise<void>((resolve) => h.close(() => resolve()));
    },
  };
}

/**
 * Routes of the HTTP server: method + path pattern (`/api/incidents/:id`) → handler. Pure matching, no sockets.
 */
import { TriplineError } from '../errors.ts';
import type { IncomingHttpHeaders } from 'node:http';

/** What a route handler gets. `body` is parsed JSON (undefined without a body). */
export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  /** Values of `:name` segments of the route pattern. */
  readonly params: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

/** What a handler returns: JSON (`json`) or text (`text` + `contentType`). @defaultValue status 200 */
export interface ApiResponse {
  readonly status?: number;
  readonly json?: unknown;
  readonly text?: string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export type RouteHandler = (req: ApiRequest) => ApiResponse | Promise<ApiResponse>;

interface Route {
  readonly method: string;
  readonly pattern: string;
  readonly segs: readonly string[];
  readonly handler: RouteHandler;
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** A method + path table. */
export class Router {
  private readonly routes: Route[] = [];

  /** Adds a route; a duplicate or malformed pattern is a programming error and throws SERVER_ERR_REQUEST at start-up. */
  add(method: string, pattern: string, handler: RouteHandler): void {
    const m = method.toUpperCase();
    if (!METHODS.has(m))
      throw new TriplineError('SERVER_ERR_REQUEST', `unsupported method ${method} for ${pattern}`, {
        hint: `use one of ${[...METHODS].join(', ')}`,
      });
    if (!/^(\/(:?[A-Za-z0-9._~-]+))+$|^\/$/.test(pattern))
      throw new TriplineError('SERVER_ERR_REQUEST', `bad route pattern ${JSON.stringify(pattern)}`, {
        hint: 'write it like /api/incidents/:id',
      });
    const segs = pattern.split('/').filter(Boolean);
    const shape = (s: readonly string[]): string => s.map((x) => (x.startsWith(':') ? ':' : x)).join('/');
    if (this.routes.some((r) => r.method === m && shape(r.segs) === shape(segs))) {
      throw new TriplineError('SERVER_ERR_REQUEST', `route ${m} ${pattern} is already mounted`, {
        hint: 'mount each route once',
      });
    }
    this.routes.push({ method: m, pattern, segs, handler });
  }

  /** Mounted routes as `METHOD /pattern`, in mount order. */
  list(): string[] {
    return this.routes.map((r) => `${r.method} ${r.pattern}`);
  }

  /** The handler and params for a request; `allowed` lists methods of the path when only the method is wrong. */
  match(
    method: string,
    path: string,
  ): { handler: RouteHandler; params: Record<string, string> } | { allowed: string[] } | undefined {
    let segs: string[];
    try {
      segs = path.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      return undefined;
    }
    const allowed: string[] = [];
    for (const r of this.routes) {
      if (r.segs.length !== segs.length) continue;
      const params: Record<string, string> = {};
      if (!r.segs.every((s, i) => (s.startsWith(':') ? ((params[s.slice(1)] = segs[i]), true) : s === segs[i])))
        continue;
      if (r.method === method || (method === 'HEAD' && r.method === 'GET')) return { handler: r.handler, params };
      allowed.push(r.method);
    }
    return allowed.length > 0 ? { allowed } : undefined;
  }
}

/**
 * Makes src/kube/api-calls.ts binding: a request (method + API path + query) maps to the (group, resource, verb)
 * RBAC would check, and a call that is not listed is refused before it leaves the process. The deployed RBAC is
 * the same list (test/deploy/rbac.test.ts), so an unlisted call would only fail later, on the cluster, with 403.
 */
import { UnrecoverableError } from '../actions/errors.ts';
import { KUBE_API_CALLS } from './api-calls.ts';

/** What RBAC checks for one request: API group ('' = core), resource (`name/subresource`), verb. */
export interface KubeRbacRequest {
  readonly group: string;
  readonly resource: string;
  readonly verb: string;
}

/** Longest path segment accepted (DNS-1123 names are ≤ 253 characters). */
const MAX_SEGMENT = 253;

/**
 * The RBAC request of `method path?query` (the Kubernetes API server's own mapping: GET of a collection is
 * `list`, or `watch` with `watch=true`; GET of an object is `get`; PATCH `patch`, PUT `update`, POST `create`,
 * DELETE `delete` or `deletecollection`), or undefined for a path that is not a resource path.
 */
export function rbacRequestOf(
  method: string,
  path: string,
  query: Readonly<Record<string, string>> = {},
): KubeRbacRequest | undefined {
  const parts = path.split('/').slice(1);
  // A dot segment (`..`, `%2e%2e`) would be resolved by the URL parser into another path than the one checked.
  if (parts.some((p) => p === '' || p.length > MAX_SEGMENT || /^(\.|%2e){1,2}$/i.test(p))) return undefined;
  let group: string;
  let rest: string[];
  if (parts[0] === 'api' && parts[1] === 'v1') [group, rest] = ['', parts.slice(2)];
  else if (parts[0] === 'apis' && parts.length >= 3) [group, rest] = [parts[1], parts.slice(3)];
  else return undefined;
  // Deprecated `/watch/` paths (`/api/v1/watch/pods`) are watches.
  let watch = query.watch === 'true' || query.watch === '1';
  if (rest[0] === 'watch') [watch, rest] = [true, rest.slice(1)];
  // `namespaces/NS/RESOURCE...` is namespaced; `namespaces` and `namespaces/NAME[/sub]` are the Namespace itself.
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && NAMESPACE_SUBRESOURCES.has(rest[2])))
    rest = rest.slice(2);
  const [resource, name, sub, ...more] = rest;
  if (resource === undefined || more.length > 0) return undefined;
  const full = sub === undefined ? resource : `${resource}/${sub}`;
  const verb = verbOf(method.toUpperCase(), name !== undefined, watch);
  return verb === undefined ? undefined : { group, resource: full, verb };
}

/** Subresources of a Namespace object (`/api/v1/namespaces/NAME/status`). */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

function verbOf(method: string, named: boolean, watch: boolean): string | undefined {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return watch ? 'watch' : named ? 'get' : 'list';
    case 'PATCH':
      return 'patch';
    case 'PUT':
      return 'update';
    case 'POST':
      return 'create';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}

/** True when `r` is one of the calls in src/kube/api-calls.ts. */
export function isListedCall(r: KubeRbacRequest): boolean {
  return KUBE_API_CALLS.some((c) => c.group === r.group && c.resource === r.resource && c.verb === r.verb);
}

/**
 * Throws (unrecoverable: retrying cannot make RBAC grant it) when the request is not a listed call, naming the call
 * and the file to edit. `path` has no query; `query` is its parameters.
 */
export function assertListedCall(method: string, path: string, query: Readonly<Record<string, string>> = {}): void {
  const r = rbacRequestOf(method, path, query);
  if (r && isListedCall(r)) return;
  const what = r ? `${r.verb} ${r.group === '' ? 'core' : r.group}/${r.resource}` : 'not a resource path';
  throw new UnrecoverableError(`kubernetes ${method} ${path}: ${what} is not in the list of calls tripline makes`, {
    reason: 'unlisted_call',
    hint: 'add the call to src/kube/api-calls.ts (with why) and its rule to deploy/kubernetes/rbac.yaml',
  });
}

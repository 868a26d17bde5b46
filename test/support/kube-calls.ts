/**
 * The deployed RBAC, for tests: which requests recorded by the fake API server are not calls listed in
 * src/kube/api-calls.ts. Requests made through @kubernetes/client-node bypass src/kube/client.ts's own check, so
 * the fake answers these 403 (as the ClusterRole would) and tests assert that none were made.
 */
import { isListedCall, rbacRequestOf } from '../../src/kube/api-call-check.ts';

/** `METHOD path → verb group/resource` when the request is not a listed call, else undefined. */
export function unlistedCall(call: {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
}): string | undefined {
  const r = rbacRequestOf(call.method, call.path, call.query);
  if (r && isListedCall(r)) return undefined;
  return `${call.method} ${call.path} → ${r ? `${r.verb} ${r.group || 'core'}/${r.resource}` : 'not a resource path'}`;
}

/** Every recorded request that is not a listed call (empty when the code kept to src/kube/api-calls.ts). */
export function unlistedCalls(
  calls: readonly {
    readonly method: string;
    readonly path: string;
    readonly query: Readonly<Record<string, string>>;
  }[],
): string[] {
  return calls.map(unlistedCall).filter((x): x is string => x !== undefined);
}

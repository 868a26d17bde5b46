/**
 * Validation of Kubernetes objects against the API's OpenAPI schemas (the `kubernetes-models` package), plus what
 * those schemas let through: a field they do not know (a typo such as `readOnlyRootFilesytem` is silently dropped
 * by the API server). Unknown fields are found by watching which keys the schema validator reads.
 */
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';

/** The kinds deploy/kubernetes may hold, by `apiVersion kind`; anything else is refused. */
const MODELS: Record<string, { prototype: { validate(): void } }> = {
  'v1 Namespace': Namespace,
  'v1 ServiceAccount': ServiceAccount,
  'v1 ConfigMap': ConfigMap,
  'v1 Secret': Secret,
  'v1 Service': Service,
  'apps/v1 DaemonSet': DaemonSet,
  'apps/v1 Deployment': Deployment,
  'rbac.authorization.k8s.io/v1 ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1 ClusterRoleBinding': ClusterRoleBinding,
  'networking.k8s.io/v1 NetworkPolicy': NetworkPolicy,
};

/**
 * The problems of `obj` as an API object: an unknown kind, schema violations (ajv's messages), unknown fields
 * (JSON pointers). Empty when it would be accepted as written.
 */
export function schemaProblems(obj: any): string[] {
  const model = MODELS[`${obj?.apiVersion} ${obj?.kind}`];
  if (!model) return [`unknown kind ${obj?.apiVersion} ${obj?.kind} (known: ${Object.keys(MODELS).join(', ')})`];
  const unread = new Map<string, Set<string>>();
  try {
    model.prototype.validate.call(track(obj, '', unread));
  } catch (err) {
    return [(err as Error).message];
  }
  return [...unread].flatMap(([path, keys]) => [...keys].map((k) => `unknown field ${path}/${k}`));
}

/**
 * A copy of `value` whose objects record, in `unread`, the keys the validator never read. Reading a key marks it;
 * enumerating an object (maps such as labels or ConfigMap data) marks all of its keys.
 */
function track(value: unknown, path: string, unread: Map<string, Set<string>>): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v, i) => track(v, `${path}/${i}`, unread));
  const obj = value as Record<string, unknown>;
  const keys = new Set(Object.keys(obj));
  unread.set(path, keys);
  const copy: Record<string, unknown> = {};
  for (const k of Object.keys(obj)) copy[k] = track(obj[k], `${path}/${k}`, unread);
  return new Proxy(copy, {
    get(target, key, receiver) {
      if (typeof key === 'string') keys.delete(key);
      return Reflect.get(target, key, receiver);
    },
    ownKeys(target) {
      keys.clear();
      return Reflect.ownKeys(target);
    },
  });
}

// The deployed RBAC is exactly the list of Kubernetes API calls tripline makes (src/kube/api-calls.ts): a call the
// code makes but RBAC forbids fails on the cluster, a grant the code never uses is privilege for nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KUBE_API_CALLS } from '../../src/kube/api-calls.ts';
import { buildKustomization } from '../support/kustomize.ts';

type Doc = any;
const objects = buildKustomization().map((o) => o.obj);
const of = (kind: string): Doc[] => objects.filter((o) => o.kind === kind);

/** `verb group/resource` for each (group, resource, verb) a ClusterRole's rules grant. */
function grants(role: Doc): string[] {
  const out: string[] = [];
  for (const rule of role.rules) {
    assert.equal(rule.resourceNames, undefined, 'no resourceNames: the objects are the cluster’s, not known here');
    assert.equal(rule.nonResourceURLs, undefined, 'no non-resource URLs');
    for (const list of [rule.apiGroups, rule.resources, rule.verbs])
      assert.ok(!list.includes('*'), `no wildcard: ${JSON.stringify(rule)}`);
    for (const g of rule.apiGroups)
      for (const r of rule.resources) for (const v of rule.verbs) out.push(`${v} ${g || 'core'}/${r}`);
  }
  return out;
}

test('the ClusterRole grants exactly the calls of src/kube/api-calls.ts, no more, no less', () => {
  assert.deepEqual(of('Role'), [], 'one ClusterRole, no namespaced Role');
  const roles = of('ClusterRole');
  assert.equal(roles.length, 1);
  const granted = grants(roles[0]);
  assert.equal(new Set(granted).size, granted.length, 'no grant twice');
  const calls = KUBE_API_CALLS.map((c) => `${c.verb} ${c.group || 'core'}/${c.resource}`);
  const missing = calls.filter((c) => !granted.includes(c));
  const extra = granted.filter((g) => !calls.includes(g));
  assert.deepEqual(missing, [], 'calls the code makes that deploy/kubernetes/rbac.yaml does not grant: add them');
  assert.deepEqual(
    extra,
    [],
    'grants no call in src/kube/api-calls.ts uses: remove them from deploy/kubernetes/rbac.yaml',
  );
  // The pod cache's informer lists and watches pods; the scale action never reads whole workloads.
  for (const c of ['list core/pods', 'watch core/pods', 'patch apps/deployments/scale'])
    assert.ok(granted.includes(c), c);
  assert.ok(!granted.some((g) => /secrets|apps\/deployments$|update|delete|create/.test(g)), granted.join(', '));
});

test('the binding gives that role to the network DaemonSet’s service account only', () => {
  const [binding] = of('ClusterRoleBinding');
  assert.equal(of('ClusterRoleBinding').length, 1);
  assert.deepEqual(binding.roleRef, {
    apiGroup: 'rbac.authorization.k8s.io',
    kind: 'ClusterRole',
    name: of('ClusterRole')[0].metadata.name,
  });
  const ds = of('DaemonSet').find((d) => d.metadata.name === 'tripline-network');
  const sa = ds.spec.template.spec.serviceAccountName;
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: sa, namespace: ds.metadata.namespace }]);
  // The probe pod has its own account, bound to nothing: it holds no API credential.
  for (const d of [...of('Deployment'), ...of('DaemonSet').filter((d) => d !== ds)])
    assert.notEqual(
      d.spec.template.spec.serviceAccountName,
      sa,
      `${d.metadata.name} does not share tripline's account`,
    );
});

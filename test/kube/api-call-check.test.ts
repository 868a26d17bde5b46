// src/kube/api-calls.ts is binding: requests map to RBAC's (group, resource, verb) and the client refuses any call
// that is not listed, before it reaches the API server; the fake API server refuses them too (403, like RBAC).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rbacRequestOf, assertListedCall } from '../../src/kube/api-call-check.ts';
import { KUBE_API_CALLS } from '../../src/kube/api-calls.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { UnrecoverableError } from '../../src/actions/errors.ts';
import { FakeKube } from '../support/fake-kube.ts';
import { unlistedCalls } from '../support/kube-calls.ts';

test('requests map to the (group, resource, verb) the API server authorizes', () => {
  const cases: [string, string, Record<string, string>, string | undefined][] = [
    ['GET', '/api/v1/pods', {}, 'list /pods'],
    ['GET', '/api/v1/pods', { fieldSelector: 'spec.nodeName=n1', watch: 'true' }, 'watch /pods'],
    ['GET', '/api/v1/watch/pods', {}, 'watch /pods'],
    ['GET', '/api/v1/namespaces/shop/pods', {}, 'list /pods'],
    ['GET', '/api/v1/namespaces/shop/pods/web-0', {}, 'get /pods'],
    ['GET', '/api/v1/namespaces/shop/pods/web-0/log', {}, 'get /pods/log'],
    ['DELETE', '/api/v1/namespaces/shop/pods/web-0', {}, 'delete /pods'],
    ['DELETE', '/api/v1/namespaces/shop/pods', {}, 'deletecollection /pods'],
    ['POST', '/api/v1/namespaces/shop/pods/web-0/eviction', {}, 'create /pods/eviction'],
    ['GET', '/api/v1/namespaces', {}, 'list /namespaces'],
    ['GET', '/api/v1/namespaces/shop', {}, 'get /namespaces'],
    ['PUT', '/api/v1/namespaces/shop/finalize', {}, 'update /namespaces/finalize'],
    ['GET', '/apis/apps/v1/namespaces/shop/replicasets/web-7f9c', {}, 'get apps/replicasets'],
    ['GET', '/apis/apps/v1/namespaces/shop/deployments/web/scale', {}, 'get apps/deployments/scale'],
    [
      'PATCH',
      '/apis/apps/v1/namespaces/shop/statefulsets/db/scale',
      { dryRun: 'All' },
      'patch apps/statefulsets/scale',
    ],
    ['PUT', '/apis/apps/v1/namespaces/shop/deployments/web', {}, 'update apps/deployments'],
    [
      'GET',
      '/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers',
      {},
      'list autoscaling/horizontalpodautoscalers',
    ],
    ['GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/admin', {}, 'get rbac.authorization.k8s.io/clusterroles'],
    ['GET', '/version', {}, undefined],
    ['GET', '/apis', {}, undefined],
    ['GET', '/apis/apps/v1', {}, undefined],
    ['GET', '/api/v1//pods', {}, undefined],
    ['GET', '/api/v1/namespaces/shop/pods/web-0/log/extra', {}, undefined],
    ['OPTIONS', '/api/v1/pods', {}, undefined],
    // Dot segments: the URL parser would send another path than the one checked.
    ['GET', '/api/v1/namespaces/shop/pods/..', {}, undefined],
    ['GET', '/api/v1/namespaces/shop/pods/%2E%2e', {}, undefined],
    ['GET', '/api/v1/namespaces/shop/pods/.', {}, undefined],
  ];
  for (const [method, path, query, want] of cases) {
    const r = rbacRequestOf(method, path, query);
    assert.equal(r && `${r.verb} ${r.group}/${r.resource}`, want, `${method} ${path}`);
  }
});

test('every listed call is reachable through some request, and the pod informer’s watch is listed', () => {
  for (const c of KUBE_API_CALLS) {
    assert.ok(c.why.length > 0, `${c.verb} ${c.resource} says why`);
    const [resource, sub] = c.resource.split('/');
    const base = c.group === '' ? '/api/v1' : `/apis/${c.group}/v1`;
    const named = c.verb === 'get' || c.verb === 'patch';
    const path = `${base}/namespaces/ns/${resource}${named ? '/x' : ''}${sub ? `/${sub}` : ''}`;
    const method = c.verb === 'patch' ? 'PATCH' : 'GET';
    assert.doesNotThrow(() => assertListedCall(method, path, c.verb === 'watch' ? { watch: 'true' } : {}), path);
  }
  assert.doesNotThrow(() => assertListedCall('GET', '/api/v1/pods', { fieldSelector: 'spec.nodeName=n1' }));
  assert.doesNotThrow(() => assertListedCall('GET', '/api/v1/pods', { watch: '1', resourceVersion: '12' }));
});

test('the client refuses an unlisted call before sending it, naming the call and the file to edit', async () => {
  const kube = await new FakeKube().start();
  try {
    kube.addDeployment('shop', 'web', 2);
    const client = new KubeClient({ server: kube.url, source: 'test' });
    const refused = [
      () => client.get('/apis/apps/v1/namespaces/shop/deployments/web'),
      () => client.get('/api/v1/namespaces/shop/secrets/db'),
      () => client.patch('/api/v1/namespaces/shop/pods/web-0', { metadata: { labels: { a: 'b' } } }),
      () => client.get('/apis/apps/v1/namespaces/shop/replicasets'),
      () => client.get('/version'),
    ];
    for (const call of refused)
      await assert.rejects(call(), (e: unknown) => {
        assert.ok(e instanceof UnrecoverableError, String(e));
        assert.equal(e.code, 'ACTION_ERR_UNRECOVERABLE');
        assert.equal(e.reason, 'unlisted_call');
        assert.match(e.message, /^kubernetes (GET|PATCH) \/\S+: /);
        assert.match(e.hint, /src\/kube\/api-calls\.ts/);
        assert.match(e.hint, /deploy\/kubernetes\/rbac\.yaml/);
        return true;
      });
    assert.deepEqual(kube.calls, [], 'nothing reached the API server');
    const scale = await client.get<{ spec: { replicas: number } }>(
      '/apis/apps/v1/namespaces/shop/deployments/web/scale',
    );
    assert.equal(scale.spec.replicas, 2, 'a listed call goes through');
    assert.equal(kube.calls.length, 1);
  } finally {
    await kube.stop();
  }
});

test('the fake API server answers an unlisted call 403, as the deployed RBAC would, and records it', async () => {
  const kube = await new FakeKube().start();
  try {
    const res = await fetch(`${kube.url}/api/v1/namespaces/shop/secrets/db`);
    assert.equal(res.status, 403);
    assert.match(((await res.json()) as { message: string }).message, /get core\/secrets/);
    assert.deepEqual(kube.forbidden, ['GET /api/v1/namespaces/shop/secrets/db → get core/secrets']);
    const listed = await fetch(`${kube.url}/api/v1/pods?watch=false`);
    assert.equal(listed.status, 200);
    assert.deepEqual(unlistedCalls(kube.calls), ['GET /api/v1/namespaces/shop/secrets/db → get core/secrets']);
  } finally {
    await kube.stop();
  }
});

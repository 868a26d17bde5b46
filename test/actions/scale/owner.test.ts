import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { KubeClient } from '../../../src/kube/client.ts';
import { OwnerResolver, scalePath } from '../../../src/actions/scale/owner.ts';
import { UnrecoverableError } from '../../../src/actions/errors.ts';
import { FakeKube, type KubeCall } from '../../support/fake-kube.ts';
import { PodCache } from '../../../src/kube/pod-cache.ts';
import { resolveCredentials } from '../../../src/kube/kubeconfig.ts';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const kube = new FakeKube();
let owners: OwnerResolver;

before(async () => {
  await kube.start();
  owners = new OwnerResolver(new KubeClient({ server: kube.url, source: 'test' }));
});
after(async () => {
  await kube.stop();
  assert.deepEqual(kube.forbidden, [], 'every Kubernetes API call made is listed in src/kube/api-calls.ts');
});

/** GET /api/v1/pods calls since `n`: node-scoped lists, and lists of the whole cluster. */
function podLists(n: number): { node: number; cluster: KubeCall[] } {
  const lists = kube.calls.slice(n).filter((c) => c.method === 'GET' && c.path === '/api/v1/pods');
  return {
    node: lists.filter((c) => c.query.fieldSelector === 'spec.nodeName=node-1').length,
    cluster: lists.filter((c) => c.query.fieldSelector === undefined),
  };
}

test("with this node's pod cache a pod found by uid costs no API call, and still resolves to its Deployment", async () => {
  const uids = kube.addDeployment('shop', 'cached', 2, 2);
  const sts = kube.addStatefulSet('db', 'cached-db', 1);
  const ds = kube.addPod('ops', 'cached-ds-x', { kind: 'DaemonSet', name: 'cached-ds' });
  const cache = new PodCache({
    creds: resolveCredentials({ api_url: kube.url }, {}, join(tmpdir(), 'tripline-no-sa')),
    node: 'node-1',
    log: { debug() {}, info() {}, warn() {}, error() {} },
    debounceMs: 20,
  });
  cache.start();
  try {
    await cache.firstSync;
    for (let i = 0; i < 500 && cache.byUid(uids[0]!)?.workload?.kind !== 'Deployment'; i++)
      await new Promise((r) => setTimeout(r, 10));
    const n = kube.calls.length;
    for (const uid of uids)
      assert.deepEqual(await owners.resolve('auto', { pod: { uid } }, cache), {
        kind: 'Deployment',
        namespace: 'shop',
        name: 'cached',
      });
    assert.deepEqual(await owners.resolve('auto', { pod: { uid: sts } }, cache), {
      kind: 'StatefulSet',
      namespace: 'db',
      name: 'cached-db',
    });
    await assert.rejects(
      owners.resolve('auto', { pod: { uid: ds } }, cache),
      (e: unknown) => e instanceof UnrecoverableError && /DaemonSet/.test(e.message),
    );
    assert.deepEqual(kube.calls.slice(n), [], 'no API call at all');
  } finally {
    await cache.stop();
  }
});

test("without a cache a uid is looked for among this node's pods first (one node-scoped list), then remembered", async () => {
  const near = new OwnerResolver(new KubeClient({ server: kube.url, source: 'test' }), { node: 'node-1' });
  const uids = kube.addDeployment('shop', 'web', 2, 2);
  kube.addDeployment('shop', 'api', 1, 1);
  const n = kube.calls.length;
  for (const uid of uids)
    assert.deepEqual(await near.resolve('auto', { pod: { uid } }), {
      kind: 'Deployment',
      namespace: 'shop',
      name: 'web',
    });
  assert.deepEqual(podLists(n), { node: 1, cluster: [] }, 'the second lookup reuses what the first list said');
});

test('a pod on no known node: a paginated search of the cluster that stops at the page holding it, bounded', async () => {
  const paged = new OwnerResolver(new KubeClient({ server: kube.url, source: 'test' }), { pageSize: 2, maxPages: 50 });
  kube.addPod('spread', 'before', undefined, { node: 'node-98' });
  const [uid] = kube.addDeployment('far', 'app', 1, 1);
  for (let i = 0; i < 10; i++) kube.addPod('spread', `after-${i}`, undefined, { node: `node-${i + 10}` });
  const n = kube.calls.length;
  assert.deepEqual(await paged.resolve('auto', { pod: { uid } }), {
    kind: 'Deployment',
    namespace: 'far',
    name: 'app',
  });
  const { cluster } = podLists(n);
  assert.ok(cluster.length >= 2, 'several pages');
  assert.ok(
    cluster.every((c) => c.query.limit === '2'),
    'every page has a limit',
  );
  assert.equal(cluster[0]!.query.continue, undefined);
  assert.ok(
    cluster.slice(1).every((c) => c.query.continue),
    'later pages continue',
  );
  assert.ok(kube.pods.size > cluster.length * 2, 'stopped before the end of the list');
  const tight = new OwnerResolver(new KubeClient({ server: kube.url, source: 'test' }), { pageSize: 1, maxPages: 2 });
  await assert.rejects(
    tight.resolve('auto', { pod: { uid: crypto.randomUUID() } }),
    (e: unknown) =>
      e instanceof UnrecoverableError && /first 2 pages of 1 pods/.test(e.message) && /target:/.test(e.hint),
  );
});

test('a pod named in the incident is fetched directly; a StatefulSet pod resolves to the StatefulSet', async () => {
  kube.addStatefulSet('db', 'pg', 1);
  const n = kube.calls.length;
  assert.deepEqual(await owners.resolve('auto', { pod: { uid: 'whatever', name: 'pg-0', namespace: 'db' } }), {
    kind: 'StatefulSet',
    namespace: 'db',
    name: 'pg',
  });
  assert.ok(
    kube.calls.slice(n).every((c) => c.path !== '/api/v1/pods'),
    'no pod list needed',
  );
});

test('a pod without a scalable owner, or unknown, is unrecoverable with a hint', async () => {
  const bare = kube.addPod('ops', 'debug');
  kube.addPod('ops', 'ds-x', { kind: 'DaemonSet', name: 'ds' });
  await assert.rejects(
    owners.resolve('auto', { pod: { uid: bare } }),
    (e: unknown) => e instanceof UnrecoverableError && /no controller owner/.test(e.message) && /target:/.test(e.hint),
  );
  await assert.rejects(
    owners.resolve('auto', { pod: { uid: 'x', name: 'ds-x', namespace: 'ops' } }),
    (e: unknown) => e instanceof UnrecoverableError && /DaemonSet/.test(e.message),
  );
  await assert.rejects(
    owners.resolve('auto', { pod: { uid: 'no-such-uid' } }),
    (e: unknown) => e instanceof UnrecoverableError && /no pod with uid/.test(e.message),
  );
  await assert.rejects(
    owners.resolve('auto', { cgroupPath: '/system.slice/x' }),
    (e: unknown) => e instanceof UnrecoverableError && /names no pod/.test(e.message),
  );
});

test('an explicit target needs no lookup', async () => {
  const n = kube.calls.length;
  const w = await owners.resolve({ kind: 'StatefulSet', namespace: 'db', name: 'pg' }, {});
  assert.equal(scalePath(w), '/apis/apps/v1/namespaces/db/statefulsets/pg/scale');
  assert.equal(kube.calls.length, n);
});

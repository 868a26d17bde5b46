import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { KubeClient } from '../../../src/kube/client.ts';
import { OwnerResolver, scalePath } from '../../../src/actions/scale/owner.ts';
import { UnrecoverableError } from '../../../src/actions/errors.ts';
import { FakeKube } from '../../support/fake-kube.ts';

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

test('a pod resolves through its ReplicaSet to the Deployment, by uid with one pod list for several lookups', async () => {
  const uids = kube.addDeployment('shop', 'web', 2, 2);
  kube.addDeployment('shop', 'api', 1, 1);
  const lists = (): number => kube.calls.filter((c) => c.path === '/api/v1/pods').length;
  const before = lists();
  assert.deepEqual(await owners.resolve('auto', { pod: { uid: uids[0] } }), {
    kind: 'Deployment',
    namespace: 'shop',
    name: 'web',
  });
  assert.deepEqual(await owners.resolve('auto', { pod: { uid: uids[1] } }), {
    kind: 'Deployment',
    namespace: 'shop',
    name: 'web',
  });
  assert.equal(lists() - before, 1, 'the uid index is cached');
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

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { PodCache } from '../../src/kube/pod-cache.ts';
import { resolveCredentials } from '../../src/kube/kubeconfig.ts';
import { PodSnapshotSchema, PODS_PER_NODE_MAX, type PodSnapshot } from '../../src/pod-meta.ts';
import { FakeKube } from '../support/fake-kube.ts';

// The informer must never leave a rejection unhandled (Node would end the network side).
const unhandled: unknown[] = [];
const onUnhandled = (err: unknown): void => void unhandled.push(err);
before(() => process.on('unhandledRejection', onUnhandled));
after(() => {
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, [], 'no unhandled rejections');
});

const NO_SA = join(tmpdir(), 'tripline-no-service-account');
const logs: { level: string; msg?: string; obj: object }[] = [];
const log = Object.fromEntries(
  ['debug', 'info', 'warn', 'error'].map((level) => [
    level,
    (obj: object, msg?: string) => logs.push({ level, msg, obj }),
  ]),
) as any;

/** A cache of node-1's pods on `kube`, collecting its snapshots. */
function cacheOn(kube: FakeKube, url = kube.url): { cache: PodCache; snaps: PodSnapshot[] } {
  const snaps: PodSnapshot[] = [];
  const cache = new PodCache({
    creds: resolveCredentials({ api_url: url }, {}, NO_SA),
    node: 'node-1',
    log,
    debounceMs: 50,
    maxWaitMs: 200,
    backoffMs: [50, 200],
    onSnapshot: (s) => snaps.push(PodSnapshotSchema.parse(s)),
  });
  cache.start();
  return { cache, snaps };
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const names = (s: PodSnapshot | undefined): string[] => (s?.pods ?? []).map((p) => `${p.namespace}/${p.name}`).sort();

test('list then watch: node pods only, workloads through the owner chain, containers by id; ADDED/MODIFIED/DELETED', async () => {
  const kube = await new FakeKube().start();
  const { cache, snaps } = cacheOn(kube);
  try {
    const [webUid] = kube.addDeployment('shop', 'web', 2, 1);
    kube.addStatefulSet('db', 'pg', 1);
    kube.addPod(
      'kube-system',
      'fluent-x1',
      { kind: 'DaemonSet', name: 'fluent' },
      { containers: ['fluent', 'sidecar'] },
    );
    kube.addPod('batch', 'report-123-abcde', { kind: 'Job', name: 'report-123' }, { qos: 'BestEffort' });
    kube.addPod('ops', 'debug', undefined, { qos: 'Guaranteed' });
    kube.addPod('shop', 'elsewhere', undefined, { node: 'node-2' });
    await cache.firstSync;
    await until('the first snapshot', () => snaps.length > 0);
    const first = snaps.at(-1)!;
    assert.deepEqual(names(first), [
      'batch/report-123-abcde',
      'db/pg-0',
      'kube-system/fluent-x1',
      'ops/debug',
      `shop/${[...kube.pods.values()].find((p) => p.metadata.uid === webUid)!.metadata.name}`,
    ]);
    const web = cache.byUid(webUid!)!;
    await until('the Deployment behind the ReplicaSet', () => cache.byUid(webUid!)?.workload?.kind === 'Deployment');
    assert.deepEqual(cache.byUid(webUid!)!.workload, { kind: 'Deployment', name: 'web' });
    assert.equal(web.qos, 'Burstable');
    const byName = (n: string) => cache.snapshot().pods.find((p) => p.name === n)!;
    assert.deepEqual(byName('pg-0').workload, { kind: 'StatefulSet', name: 'pg' });
    assert.deepEqual(byName('fluent-x1').workload, { kind: 'DaemonSet', name: 'fluent' });
    assert.deepEqual(byName('report-123-abcde').workload, { kind: 'Job', name: 'report-123' });
    assert.equal(byName('debug').workload, undefined);
    assert.equal(byName('debug').qos, 'Guaranteed');
    const fluent = kube.pods.get('kube-system/fluent-x1')!;
    assert.deepEqual(
      byName('fluent-x1').containers,
      fluent.status.containerStatuses!.map((c) => ({ id: c.containerID!.replace('containerd://', ''), name: c.name })),
    );
    await until('a snapshot with the Deployment', () =>
      snaps.at(-1)!.pods.some((p) => p.workload?.kind === 'Deployment'),
    );

    // Watch events.
    const n = snaps.length;
    kube.addPod('ops', 'late');
    await until('ADDED', () => names(snaps.at(-1)).includes('ops/late'));
    kube.modifyPod('ops', 'late', (p) => {
      p.status.containerStatuses = [{ name: 'app', containerID: `containerd://${'ab'.repeat(32)}` }];
    });
    await until(
      'MODIFIED',
      () => cache.snapshot().pods.find((p) => p.name === 'late')?.containers[0]?.id === 'ab'.repeat(32),
    );
    kube.deletePod('ops', 'late');
    await until('DELETED', () => !names(snaps.at(-1)).includes('ops/late'));
    assert.ok(snaps.length > n);
    // A name the API would never send (upper case): not in the snapshot, counted; the watch carries on.
    kube.addRawPod({
      metadata: { name: 'odd', namespace: 'BAD', uid: crypto.randomUUID() },
      spec: { nodeName: 'node-1' },
    });
    kube.addPod('ops', 'after-odd');
    await until('the pod after the odd one', () => names(snaps.at(-1)).includes('ops/after-odd'));
    assert.equal(cache.dropped.bad_namespace, 1);
    assert.ok(!names(snaps.at(-1)).some((n) => n.startsWith('BAD/')));
    assert.ok(!cache.snapshot().pods.some((p) => p.name === 'elsewhere'), 'a pod of another node never enters');
    for (const c of kube.podCalls())
      assert.equal(c.query.fieldSelector, 'spec.nodeName=node-1', JSON.stringify(c.query));
    assert.ok(kube.podCalls().some((c) => c.query.watch === 'true'));
  } finally {
    await cache.stop();
    await kube.stop();
  }
});

test('a 410 Gone relists and ends consistent, a re-created pod (same name, new uid) replaces the old one; bookmarks resume', async () => {
  const kube = await new FakeKube().start();
  kube.addPod('ops', 'a');
  kube.addPod('ops', 'b');
  const oldC = kube.addPod('ops', 'c');
  const { cache, snaps } = cacheOn(kube);
  try {
    await cache.firstSync;
    await until('a watch', () => kube.openWatches === 1);
    // Deleted and re-created under the same name while the watch is open: DELETED then ADDED.
    const oldA = kube.pods.get('ops/a')!.metadata.uid;
    kube.deletePod('ops', 'a');
    const newA = kube.addPod('ops', 'a');
    await until('the new uid', () => cache.byUid(newA) !== undefined);
    assert.equal(cache.byUid(oldA), undefined);

    // Changes the watch never hears (compacted away), then the watch expires: only a relist sees them.
    const lists = kube.podCalls().filter((c) => c.query.watch !== 'true').length;
    let newC = '';
    kube.silently(() => {
      kube.deletePod('ops', 'b');
      kube.deletePod('ops', 'c');
      newC = kube.addPod('ops', 'c');
      kube.addPod('ops', 'd');
    });
    kube.expireNextWatch();
    kube.closeWatches();
    await until('a relist', () => kube.podCalls().filter((c) => c.query.watch !== 'true').length > lists);
    await until('consistent after the relist', () => names(snaps.at(-1)).join() === 'ops/a,ops/c,ops/d');
    assert.equal(cache.byUid(oldC), undefined, 'the old c is gone');
    assert.ok(cache.byUid(newC));
    await until('watching again', () => kube.openWatches === 1);
    // A bookmark moves the resourceVersion on: the next watch resumes from it, with no list.
    const before = kube.podCalls().length;
    kube.bookmark();
    const rv = kube.podCalls().at(-1)!.query.resourceVersion;
    await new Promise((r) => setTimeout(r, 50));
    kube.closeWatches();
    await until('a resumed watch', () => kube.podCalls().length > before);
    const resumed = kube.podCalls().at(-1)!;
    assert.equal(resumed.query.watch, 'true');
    assert.equal(Number(resumed.query.resourceVersion), Number(rv) + 1);
  } finally {
    await cache.stop();
    await kube.stop();
  }
});

test('out-of-shape pods are dropped and counted; more pods than a node can run are bounded', async () => {
  const kube = await new FakeKube().start();
  for (let i = 0; i < 2000; i++) kube.addPod('load', `p-${i}`, undefined, { containers: [] });
  kube.addRawPod({ kind: 'Pod', spec: { nodeName: 'node-1' } });
  kube.addRawPod({
    metadata: { name: 'x'.repeat(300), namespace: 'ops', uid: crypto.randomUUID() },
    spec: { nodeName: 'node-1' },
  });
  const { cache, snaps } = cacheOn(kube);
  try {
    await cache.firstSync;
    await until('a snapshot', () => snaps.length > 0);
    assert.equal(snaps.at(-1)!.pods.length, PODS_PER_NODE_MAX);
    assert.equal(cache.dropped.over_limit, 2000 - PODS_PER_NODE_MAX);
    assert.equal(cache.dropped.no_metadata, 1);
    assert.equal(cache.dropped.bad_name, 1);
    // The same through the watch, and the cache carries on.
    kube.addRawPod({ type: 'odd', spec: { nodeName: 'node-1' } });
    kube.addRawPod({
      metadata: { name: 'Upper', namespace: 'BAD', uid: crypto.randomUUID() },
      spec: { nodeName: 'node-1' },
    });
    kube.addPod('load', 'one-more');
    await until(
      'watch drops counted',
      () => cache.dropped.no_metadata === 2 && cache.dropped.over_limit === 2002 - PODS_PER_NODE_MAX,
    );
    assert.equal(cache.snapshot().pods.length, PODS_PER_NODE_MAX);
    assert.ok(logs.some((l) => l.level === 'warn' && /dropped/.test(l.msg ?? '')));
  } finally {
    await cache.stop();
    await kube.stop();
  }
});

test('API server down at start: retries without crashing, syncs when it comes up; a failing list is retried', async () => {
  const probe = await new FakeKube().start();
  const port = Number(new URL(probe.url).port);
  await probe.stop();
  const before = logs.length;
  const { cache, snaps } = cacheOn(probe, `http://127.0.0.1:${port}`);
  const kube = new FakeKube();
  try {
    await until(
      'two failed attempts',
      () => logs.slice(before).filter((l) => /retrying/.test(l.msg ?? '')).length >= 2,
    );
    assert.equal(cache.synced, false);
    assert.ok(cache.failures >= 2);
    kube.addPod('ops', 'a');
    kube.fail(/GET \/api\/v1\/pods/, 503, 2);
    await kube.start(undefined, port);
    await cache.firstSync;
    await until('a snapshot', () => names(snaps.at(-1)).join() === 'ops/a');
    assert.ok(kube.podCalls().length >= 3, 'two 503s, then the list that worked');
  } finally {
    await cache.stop();
    await kube.stop();
  }
});

test('a ReplicaSet that cannot be read (no RBAC) leaves the ReplicaSet as the workload and is not asked again at once', async () => {
  const kube = await new FakeKube().start();
  kube.fail(/GET \/apis\/apps\/v1\/namespaces\/locked\/replicasets\//, 403, 100);
  const [uid] = kube.addDeployment('locked', 'web', 1, 1);
  const { cache, snaps } = cacheOn(kube);
  try {
    await cache.firstSync;
    await until('a snapshot', () => snaps.length > 0);
    await until('the failed read', () => logs.some((l) => /cannot read the ReplicaSet/.test(l.msg ?? '')));
    const pod = cache.byUid(uid!)!;
    assert.equal(pod.workload?.kind, 'ReplicaSet');
    const reads = (): number => kube.calls.filter((c) => c.path.includes('/replicasets/')).length;
    const n = reads();
    kube.modifyPod(pod.namespace, pod.name, (p) => (p.status.qosClass = 'Guaranteed'));
    await until('the change', () => cache.byUid(uid!)?.qos === 'Guaranteed');
    assert.equal(reads(), n, 'no second read within the retry delay');
  } finally {
    await cache.stop();
    await kube.stop();
  }
});

// The raise records behind the HPA restore, step by step against the Kubernetes stand-in: a restore waits for a
// holder that resolved later, runs once per raise, takes a floor already put back by its own earlier try as done,
// and a damaged record (Redis data) reads as none.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Raises } from '../../../src/actions/scale/restore.ts';
import { runRestore } from '../../../src/actions/scale/follow-up.ts';
import { scaleSpec, type ScaleActionSpec } from '../../../src/actions/scale/spec.ts';
import type { ActionContext, ActionJob } from '../../../src/actions/types.ts';
import { MemoryStore } from '../../../src/actions/store-memory.ts';
import { KubeClient } from '../../../src/kube/client.ts';
import { resolveCredentials } from '../../../src/kube/kubeconfig.ts';
import { buildConfig } from '../../../src/config.ts';
import { FakeKube } from '../../support/fake-kube.ts';

const kube = new FakeKube();
let client: KubeClient;
before(async () => {
  await kube.start();
  client = new KubeClient(resolveCredentials(buildConfig({ kubernetes: { api_url: kube.url } }, {}).kubernetes, {}));
});
after(() => kube.stop());

const W = 'Deployment/q/web';
const HPA = { namespace: 'q', name: 'web-hpa', minReplicas: 2, maxReplicas: 6 };
const setMin = (n: number): void => {
  const h = kube.hpas.get('q/web-hpa')!;
  kube.hpas.set('q/web-hpa', { ...h, spec: { ...h.spec, minReplicas: n } });
};

test('a restore waits for a holder that resolved later, then runs once, to the original floor', async () => {
  kube.addDeployment('q', 'web', 2, 2);
  kube.addHpa('q', 'web-hpa', 'web', 2, 6);
  const store = new MemoryStore();
  const r = new Raises(store);
  setMin(3);
  await r.noteRaise(W, 'a', 'trip-a', HPA, 2, 3);
  assert.equal(await r.noteFiring(W, 'b'), true);
  assert.equal(await r.workloadOf('b'), W);
  const t = 1_000_000;
  assert.equal((await r.restore(client, W, 'a', t)).did, 'firing');
  await r.noteResolved(W, 'a', t);
  await r.noteResolved(W, 'b', t + 60_000);
  assert.equal((await r.restore(client, W, 'a', t)).did, 'wait', "b's own job comes later");
  const done = await r.restore(client, W, 'b', t + 60_000);
  assert.equal(done.did, 'restored');
  assert.equal(kube.hpas.get('q/web-hpa')!.spec.minReplicas, 2);
  assert.equal((await r.restore(client, W, 'a', t + 60_000)).did, 'none', 'the raise is gone: nothing twice');
  assert.equal(await r.noteResolved(W, 'a', t), false);
});

test("a floor already put back by this job's earlier try counts as restored; a damaged record reads as none", async () => {
  const store = new MemoryStore();
  const r = new Raises(store);
  setMin(4);
  await r.noteRaise(W, 'c', 'trip-c', HPA, 2, 4);
  await r.noteResolved(W, 'c', 0);
  // The earlier try patched and died before it recorded: the floor is the original, the claim is this key's.
  await store.set(`scale:restore:${W}:trip-c`, 'c');
  setMin(2);
  const n = kube.patches().length;
  assert.equal((await r.restore(client, W, 'c', 1)).did, 'restored');
  assert.equal(kube.patches().length, n, 'no second PATCH');
  await store.set('scale:raised-by:x', 'Deployment/../../etc');
  assert.equal(await r.workloadOf('x'), undefined);
  await store.set(`scale:raise:${W}`, '{"gen":1}');
  assert.equal(await r.get(W), undefined);
  assert.equal((await r.restore(client, W, 'c', 1)).did, 'none');
});

test('planted raise records (Redis data) never move an HPA: foreign namespace, a "restore" upwards, an HPA of another workload', async () => {
  kube.addDeployment('q', 'other', 2, 2);
  kube.addHpa('q', 'other-hpa', 'other', 2, 6);
  const store = new MemoryStore();
  const r = new Raises(store);
  const plant = async (rec: object): Promise<void> => {
    await store.set(`scale:raise:${W}`, JSON.stringify(rec));
    await store.set('scale:raised-by:p', W);
  };
  const n = kube.patches().length;
  // An HPA in another namespace than the workload's.
  await plant({
    gen: 'g1',
    hpa: { namespace: 'kube-system', name: 'web-hpa' },
    original: 1,
    set: 2,
    holders: { p: { firing: false, dueAt: 0 } },
  });
  assert.equal(await r.get(W), undefined);
  assert.equal((await r.restore(client, W, 'p', 1)).did, 'none');
  // A "restore" that would raise the floor.
  await plant({
    gen: 'g2',
    hpa: { namespace: 'q', name: 'web-hpa' },
    original: 50,
    set: 2,
    holders: { p: { firing: false, dueAt: 0 } },
  });
  assert.equal(await r.get(W), undefined);
  // A real HPA of the namespace that scales another workload, at the floor the record claims.
  const h = kube.hpas.get('q/other-hpa')!;
  kube.hpas.set('q/other-hpa', { ...h, spec: { ...h.spec, minReplicas: 3 } });
  await plant({
    gen: 'g3',
    hpa: { namespace: 'q', name: 'other-hpa' },
    original: 1,
    set: 3,
    holders: { p: { firing: false, dueAt: 0 } },
  });
  assert.equal((await r.restore(client, W, 'p', 1)).did, 'foreign');
  assert.equal(kube.patches().length, n, 'no PATCH for any of them');
  assert.equal(kube.hpas.get('q/other-hpa')!.spec.minReplicas, 3);
});

test('a restore job under a rule that is a dry run or has restore off changes nothing, even with a due raise', async () => {
  const store = new MemoryStore();
  const r = new Raises(store);
  setMin(3);
  await r.noteRaise(W, 'k', 'trip-k', HPA, 2, 3);
  await r.noteResolved(W, 'k', 0);
  const notes: string[] = [];
  const ctx = { store, now: () => 1_000, notify: async (_e: string, d: { text: string }) => void notes.push(d.text) };
  const job = (over: Partial<ScaleActionSpec>, dryRun?: boolean): ActionJob<ScaleActionSpec> =>
    ({
      event: 'restore',
      incident: { key: 'k' },
      spec: { ...scaleSpec.parse({ type: 'scale' }), ...over },
      ...(dryRun ? { dryRun } : {}),
    }) as unknown as ActionJob<ScaleActionSpec>;
  const n = kube.patches().length;
  for (const j of [job({ dryRun: true }), job({ restore: false }), job({}, true)]) {
    const out = await runRestore(j, ctx as unknown as ActionContext, () => client);
    assert.equal(out.status, 'skipped');
  }
  assert.equal(kube.patches().length, n, 'no PATCH');
  assert.equal(kube.hpas.get('q/web-hpa')!.spec.minReplicas, 3);
  // The same raise under a rule that restores: put back.
  assert.equal((await runRestore(job({}), ctx as unknown as ActionContext, () => client)).status, 'delivered');
  assert.equal(kube.hpas.get('q/web-hpa')!.spec.minReplicas, 2);
});

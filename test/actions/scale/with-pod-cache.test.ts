// The scale action on the network side with this node's pod cache (a real client-node informer on the fake API
// server): the pod of an incident, known by uid only, is found in the cache; the cluster is never listed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createScaleAction } from '../../../src/actions/scale/index.ts';
import type { ActionJob } from '../../../src/actions/types.ts';
import type { ScaleActionSpec } from '../../../src/actions/scale/spec.ts';
import { buildConfig } from '../../../src/config.ts';
import { PodCache } from '../../../src/kube/pod-cache.ts';
import { resolveCredentials } from '../../../src/kube/kubeconfig.ts';
import { FakeKube } from '../../support/fake-kube.ts';
import { Clock, bundle, context, incident } from '../slack/helpers.ts';
import { scaleSpecWith } from '../fixtures/scale.ts';

const kube = new FakeKube();
let cache: PodCache;

before(async () => {
  await kube.start();
});
after(async () => {
  await cache?.stop();
  await kube.stop();
});

test("a pod known by uid only is found in this node's pod cache: its Deployment is scaled, no pod is listed", async () => {
  const [uid] = kube.addDeployment('shop', 'web', 2, 1);
  kube.addDeployment('shop', 'other', 1, 3);
  const cfg = buildConfig({ kubernetes: { api_url: kube.url, node_name: 'node-1' } }, {});
  cache = new PodCache({
    creds: resolveCredentials(cfg.kubernetes, {}, join(tmpdir(), 'tripline-no-sa')),
    node: 'node-1',
    log: { debug() {}, info() {}, warn() {}, error() {} },
    debounceMs: 20,
  });
  cache.start();
  await cache.firstSync;
  for (let i = 0; i < 500 && cache.byUid(uid!)?.workload?.kind !== 'Deployment'; i++)
    await new Promise((r) => setTimeout(r, 10));
  const n = kube.calls.length;
  const s = scaleSpecWith();
  const i = incident('web-1', Date.parse('2026-11-25T14:00:00Z'), { target: { pod: { uid: uid! } } });
  const b = bundle();
  const job: ActionJob<ScaleActionSpec> = {
    id: `${i.key}|scale|firing`,
    event: 'firing',
    incident: i,
    bundle: { ...b, findings: { ...b.findings, diagnosis: { ...b.findings.diagnosis!, cause: 'limit-bound' } } },
    spec: s,
    index: 0,
    actions: [s],
    enqueuedAt: 0,
  };
  const out = await createScaleAction().execute(job, { ...context(cfg, {}, new Clock()), pods: cache });
  assert.equal(out.status, 'delivered', out.summary);
  assert.equal(kube.replicas.get('deployments/shop/web'), 3);
  const calls = kube.calls.slice(n).map((c) => `${c.method} ${c.path}`);
  assert.ok(!calls.some((c) => c.includes('/pods')), `no pod call: ${calls.join(', ')}`);
  assert.ok(!calls.some((c) => c.includes('/replicasets/')), 'the cache knew the Deployment');
});

// The network side's pod cache: started when Kubernetes is configured (credentials and a node name), its snapshots
// sent as the channel's `pods` notification and accepted by the probe side's end; off (nothing Kubernetes loaded,
// no call made) without a node name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { buildConfig } from '../../src/config.ts';
import { NetworkSide } from '../../src/split/network-side.ts';
import { Channel } from '../../src/split/channel.ts';
import { NET_TO_PROBE, PROBE_TO_NET } from '../../src/split/messages.ts';
import { localSilences } from '../../src/rules/silence-service.ts';
import { Suppressor } from '../../src/rules/evaluate/suppress.ts';
import type { PodSnapshot } from '../../src/pod-meta.ts';
import { recordingLogger } from '../actions/fixtures/incident.ts';
import { FakeKube } from '../support/fake-kube.ts';

const TOKEN = 'network-side-test-token-0123456789';

async function pair(dir: string): Promise<{ a: Socket; b: Socket; done(): void }> {
  const server = createServer();
  server.listen(join(dir, 's'));
  await once(server, 'listening');
  const b = connect(join(dir, 's'));
  const [a] = (await once(server, 'connection')) as [Socket];
  await once(b, 'connect');
  return {
    a,
    b,
    done() {
      a.destroy();
      b.destroy();
      server.close();
    },
  };
}

function networkSide(
  dir: string,
  kubernetes: object,
  onPods: (s: PodSnapshot) => void,
  metricsRegistry = new Registry(),
): NetworkSide {
  return new NetworkSide({
    config: buildConfig({ listen: '127.0.0.1:0', data_dir: dir, kubernetes }, {}),
    log: recordingLogger() as never,
    probe: {
      metrics: async () => ({ text: '', contentType: 'text/plain' }),
      silences: localSilences(() => new Suppressor()),
    },
    apiToken: TOKEN,
    metricsRegistry,
    env: {},
    onPods,
  });
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('with a node name and the API server, the pods of this node reach the probe side as `pods`, again after a change', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-net-pods-'));
  const kube = await new FakeKube().start();
  const p = await pair(dir);
  // The two ends of the real channel: the network side's (sends NET_TO_PROBE) and the probe side's.
  const net = new Channel(p.a, { inbound: PROBE_TO_NET, outbound: NET_TO_PROBE, replies: {} });
  const invalid: string[] = [];
  const probe = new Channel(p.b, {
    inbound: NET_TO_PROBE,
    outbound: PROBE_TO_NET,
    replies: {},
    onInvalid: (r) => invalid.push(r),
  });
  const received: PodSnapshot[] = [];
  probe.on('pods', (s) => void received.push(s));
  kube.addDeployment('shop', 'web', 2, 2);
  kube.addPod('ops', 'other-node', undefined, { node: 'node-2' });
  const registry = new Registry();
  const ns = networkSide(dir, { api_url: kube.url, node_name: 'node-1' }, (s) => net.notify('pods', s), registry);
  try {
    await ns.start();
    assert.ok(ns.pods, 'the pod cache runs');
    await until(
      'a pods notification with the Deployment',
      () => (received.at(-1)?.pods ?? []).filter((x) => x.workload?.kind === 'Deployment').length === 2,
    );
    assert.deepEqual(
      received
        .at(-1)!
        .pods.map((x) => x.namespace)
        .sort(),
      ['shop', 'shop'],
    );
    const n = received.length;
    kube.addPod('ops', 'late');
    await until('another notification', () => received.length > n && received.at(-1)!.pods.length === 3);
    assert.deepEqual(invalid, []);
    assert.equal(probe.dropped, 0);
    for (const s of received) NET_TO_PROBE.pods.parse(s);
    // The cache on the network side's /metrics.
    const text = await registry.metrics();
    assert.match(text, /^tripline_pod_cache_pods 3$/m);
    assert.match(text, /^tripline_pod_cache_synced 1$/m);
    assert.match(text, /^tripline_pod_cache_failures_total 0$/m);
  } finally {
    await ns.stop(2000);
    net.close();
    probe.close();
    p.done();
    await kube.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without a node name there is no pod cache and no Kubernetes call', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-net-pods-'));
  const kube = await new FakeKube().start();
  const got: PodSnapshot[] = [];
  const ns = networkSide(dir, { api_url: kube.url }, (s) => void got.push(s));
  try {
    await ns.start();
    assert.equal(ns.pods, undefined);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(kube.calls, []);
    assert.deepEqual(got, []);
  } finally {
    await ns.stop(2000);
    await kube.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerIdHex, podMeta, slimPod, type SlimPod } from '../../src/kube/pod-shape.ts';
import { CONTAINERS_PER_POD_MAX } from '../../src/pod-meta.ts';

const UID = '3f2b8c1e-5d4a-4e7f-9a0b-1c2d3e4f5a6b';
const hex = (n: number): string => n.toString(16).padStart(64, '0');

function pod(over: Record<string, unknown> = {}, status: Record<string, unknown> = {}): unknown {
  return {
    metadata: { name: 'web-7d9f-abcde', namespace: 'shop', uid: UID, resourceVersion: '7', ...over },
    spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'x' }] },
    status: { qosClass: 'Burstable', phase: 'Running', ...status },
  };
}

test('containers of every kind by runtime id (containerd, cri-o, docker); odd or missing ids skipped', () => {
  const s = slimPod(
    pod(
      {},
      {
        containerStatuses: [
          { name: 'app', containerID: `containerd://${hex(1)}` },
          { name: 'sidecar', containerID: `cri-o://${hex(2)}` },
          { name: 'starting' },
          { name: 'weird', containerID: 'containerd://NOT-HEX' },
        ],
        initContainerStatuses: [{ name: 'init', containerID: `docker://${hex(3)}` }],
        ephemeralContainerStatuses: [{ name: 'debugger', containerID: `containerd://${hex(4)}` }],
      },
    ),
  ) as SlimPod;
  const m = podMeta(s, { kind: 'Deployment', name: 'web' });
  assert.notEqual(typeof m, 'string');
  assert.deepEqual((m as Exclude<typeof m, string>).containers, [
    { id: hex(1), name: 'app' },
    { id: hex(2), name: 'sidecar' },
    { id: hex(3), name: 'init' },
    { id: hex(4), name: 'debugger' },
  ]);
  assert.equal(containerIdHex('containerd://abc'), undefined, 'too short for an id');
});

test('the slim copy keeps only what is read; out-of-shape objects give a reason', () => {
  const s = slimPod(pod({ labels: { a: 'b' }, annotations: { big: 'x'.repeat(10_000) } })) as SlimPod;
  assert.deepEqual(Object.keys(s.metadata).sort(), ['name', 'namespace', 'ownerReferences', 'resourceVersion', 'uid']);
  assert.ok(JSON.stringify(s).length < 400);
  assert.equal(slimPod(null), 'no_metadata');
  assert.equal(slimPod({ metadata: 'x' }), 'no_metadata');
  assert.equal(slimPod(pod({ name: 'x'.repeat(254) })), 'bad_name');
  assert.equal(slimPod(pod({ uid: 42 })), 'bad_name');
  assert.equal(podMeta(slimPod(pod({ namespace: 'Shop' })) as SlimPod, undefined), 'bad_namespace');
  assert.equal(podMeta(slimPod(pod({ uid: 'not-a-uid' })) as SlimPod, undefined), 'bad_uid');
});

test('bounds: containers per pod, QoS values, a workload of an odd shape is left out rather than the pod', () => {
  const many = Array.from({ length: 100 }, (_, i) => ({ name: `c${i}`, containerID: `containerd://${hex(i + 1)}` }));
  const m = podMeta(slimPod(pod({}, { containerStatuses: many, qosClass: 'Platinum' })) as SlimPod, {
    kind: 'Some Kind!',
    name: 'x',
  });
  assert.notEqual(typeof m, 'string');
  const meta = m as Exclude<typeof m, string>;
  assert.equal(meta.containers.length, CONTAINERS_PER_POD_MAX);
  assert.equal(meta.qos, '');
  assert.equal(meta.workload, undefined);
  assert.equal(meta.name, 'web-7d9f-abcde');
});

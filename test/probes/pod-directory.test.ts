import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NAME_MAX, PodDirectory, pathNames, workloadOf } from '../../src/probes/pod-directory.ts';
import { parseCgroupPath } from '../../src/probes/cgroup-path.ts';
import { PodSnapshotSchema, type PodMeta } from '../../src/pod-meta.ts';

const UID = '9d2b6a4e-1c3f-4e5a-8b7c-0d1e2f3a4b5c';
const UID2 = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const APP = 'a'.repeat(64);
const SIDECAR = 'b'.repeat(64);
const OTHER = 'c'.repeat(64);

const web: PodMeta = {
  uid: UID,
  namespace: 'shop',
  name: 'web-7d9f-abcde',
  qos: 'Burstable',
  workload: { kind: 'Deployment', name: 'web' },
  containers: [
    { id: APP, name: 'app' },
    { id: SIDECAR, name: 'envoy' },
  ],
};
const bare: PodMeta = { uid: UID2, namespace: 'ops', name: 'debug', qos: 'BestEffort', containers: [] };

test('names: container by id, pod by uid (either path driver), workload as Kind/name', () => {
  const d = new PodDirectory();
  d.replace(PodSnapshotSchema.parse({ pods: [web, bare] }));
  assert.equal(d.size, 2);
  const cgroupfs = parseCgroupPath(`/kubepods/burstable/pod${UID}/${APP}`);
  assert.deepEqual(d.names(cgroupfs), {
    namespace: 'shop',
    pod: 'web-7d9f-abcde',
    container: 'app',
    workload: 'Deployment/web',
    qos: 'burstable',
  });
  const systemd = parseCgroupPath(
    `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${SIDECAR}.scope`,
  );
  assert.equal(d.names(systemd).container, 'envoy');
  assert.equal(d.names(systemd).pod, 'web-7d9f-abcde');
  // The pod's own cgroup: pod names, no container.
  assert.deepEqual(d.names(parseCgroupPath(`/kubepods/burstable/pod${UID}`)), {
    namespace: 'shop',
    pod: 'web-7d9f-abcde',
    container: '',
    workload: 'Deployment/web',
    qos: 'burstable',
  });
  // A bare pod has no workload; a path without QoS takes the pod's.
  assert.deepEqual(d.names({ container_id: '', pod_uid: UID2, qos: '', unit: '' }), {
    namespace: 'ops',
    pod: 'debug',
    container: '',
    workload: '',
    qos: 'besteffort',
  });
  // A runtime that hides the pod in its path: the pod is found by the container id.
  assert.equal(d.names(parseCgroupPath(`/system.slice/docker-${APP}.scope`)).pod, 'web-7d9f-abcde');
});

test('names: unknown uid or container → empty names; a container id of another pod names no container', () => {
  const d = new PodDirectory();
  d.replace({ pods: [web, bare] });
  const unknown = parseCgroupPath(`/kubepods/besteffort/pod11111111-2222-4333-8444-555555555555/${OTHER}`);
  assert.deepEqual(d.names(unknown), { namespace: '', pod: '', container: '', workload: '', qos: 'besteffort' });
  // Container not (yet) in the pod's status: the pod is named, the container not.
  assert.equal(d.names(parseCgroupPath(`/kubepods/burstable/pod${UID}/${OTHER}`)).container, '');
  assert.equal(d.names(parseCgroupPath(`/kubepods/burstable/pod${UID}/${OTHER}`)).pod, 'web-7d9f-abcde');
  // The id of a container of web under bare's uid: bare's names, no container.
  const crossed = d.names({ container_id: APP, pod_uid: UID2, qos: '', unit: '' });
  assert.equal(crossed.pod, 'debug');
  assert.equal(crossed.container, '');
});

test('replace: the whole set is replaced (a deleted pod is forgotten) and the generation moves', () => {
  const d = new PodDirectory();
  const g0 = d.generation;
  d.replace({ pods: [web] });
  assert.ok(d.generation > g0);
  assert.equal(d.pod(UID)?.name, 'web-7d9f-abcde');
  assert.equal(d.pod(UID.replace(/-/g, '_'))?.name, 'web-7d9f-abcde');
  const g1 = d.generation;
  d.replace({ pods: [bare] });
  assert.ok(d.generation > g1);
  assert.equal(d.pod(UID), undefined);
  assert.equal(d.names(parseCgroupPath(`/kubepods/burstable/pod${UID}/${APP}`)).pod, '');
  d.replace({ pods: [] });
  assert.equal(d.size, 0);
});

test('systemd units name the workload of cgroups outside Kubernetes, with or without a directory', () => {
  const path = parseCgroupPath('/system.slice/nginx.service');
  assert.equal(pathNames(path).workload, 'nginx.service');
  assert.equal(new PodDirectory().names(path).workload, 'nginx.service');
});

test('values are bounded whatever arrives', () => {
  const long = 'x'.repeat(253);
  assert.ok(workloadOf({ workload: { kind: 'K'.repeat(63), name: long } }).length <= NAME_MAX);
  assert.equal(workloadOf({}), '');
  // The channel's schema refuses what the API server would not allow.
  assert.equal(PodSnapshotSchema.safeParse({ pods: [{ ...web, name: 'Web_1' }] }).success, false);
  assert.equal(PodSnapshotSchema.safeParse({ pods: Array.from({ length: 1025 }, () => bare) }).success, false);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCgroupPath, containerOfSegment } from '../../src/probes/cgroup-path.ts';

const CID = '3f1a9c0d5e7b2a4c6d8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e';
const UID = '9d2b6a4e-1c3f-4e5a-8b7c-0d1e2f3a4b5c';
const UID_ = UID.replace(/-/g, '_');

// [path, container_id, pod_uid, qos, unit?]
const TABLE: [string, string, string, string, string?][] = [
  // root and plain system services
  ['/', '', '', ''],
  ['/system.slice/sshd.service', '', '', '', 'sshd.service'],
  ['/user.slice/user-1000.slice/session-3.scope', '', '', '', 'session-3.scope'],
  // systemd units: the innermost service or scope; a sub-cgroup a service made keeps its unit; slices are no units
  ['/system.slice/nginx.service/workers', '', '', '', 'nginx.service'],
  ['/user.slice/user-1000.slice/user@1000.service/app.slice/app-foo@2.service', '', '', '', 'app-foo@2.service'],
  ['/system.slice/systemd-journald.service', '', '', '', 'systemd-journald.service'],
  ['/system.slice', '', '', ''],
  [`/system.slice/${'a'.repeat(300)}.service`, '', '', ''],
  // the container runtime's own service is a unit; its containers are not
  ['/system.slice/containerd.service', '', '', '', 'containerd.service'],
  [`/system.slice/crio-${CID}.scope`, CID, '', ''],
  [`/system.slice/cri-containerd-${CID}.scope`, CID, '', ''],
  [`/system.slice/docker-${CID}.scope/init.scope`, CID, '', ''],
  // docker, systemd and cgroupfs drivers
  [`/system.slice/docker-${CID}.scope`, CID, '', ''],
  [`/docker/${CID}`, CID, '', ''],
  [`/system.slice/libpod-${CID}.scope`, CID, '', ''],
  [`/machine.slice/libpod-${CID}.scope/container`, CID, '', ''],
  [`/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${CID}.scope`, CID, '', ''],
  // kubelet, systemd driver (v1 cpu hierarchy and v2 unified look the same below the mount)
  ['/kubepods.slice', '', '', ''],
  ['/kubepods.slice/kubepods-burstable.slice', '', '', 'burstable'],
  [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice`, '', UID, 'burstable'],
  [
    `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${CID}.scope`,
    CID,
    UID,
    'burstable',
  ],
  [
    `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${CID}.scope`,
    CID,
    UID,
    'besteffort',
  ],
  [`/kubepods.slice/kubepods-pod${UID_}.slice/docker-${CID}.scope`, CID, UID, 'guaranteed'],
  [`/kubepods.slice/kubepods-pod${UID_}.slice/crio-conmon-${CID}.scope`, '', UID, 'guaranteed'],
  // nested kubelet (node in a container): prefixed slice names
  [
    `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID_}.slice/cri-containerd-${CID}.scope`,
    CID,
    UID,
    'besteffort',
  ],
  // kubelet, cgroupfs driver
  ['/kubepods/burstable', '', '', 'burstable'],
  [`/kubepods/burstable/pod${UID}/${CID}`, CID, UID, 'burstable'],
  [`/kubepods/besteffort/pod${UID}/${CID}`, CID, UID, 'besteffort'],
  [`/kubepods/pod${UID}/${CID}`, CID, UID, 'guaranteed'],
  [`/kubepods/pod${UID}`, '', UID, 'guaranteed'],
  // a sub-cgroup a container made for itself keeps the container
  [`/kubepods/burstable/pod${UID}/${CID}/worker`, CID, UID, 'burstable'],
  // a "pod" directory outside kubepods is not a pod
  [`/system.slice/pod${UID}`, '', '', ''],
  // short or non-hex ids are not containers
  ['/docker/abc123', '', '', ''],
];

test('parseCgroupPath: real-looking paths of every driver, runtime and systemd unit', () => {
  for (const [path, container_id, pod_uid, qos, unit = ''] of TABLE) {
    assert.deepEqual(parseCgroupPath(path), { container_id, pod_uid, qos, unit }, path);
  }
});

test('containerOfSegment: scopes and bare ids only', () => {
  assert.equal(containerOfSegment(`cri-containerd-${CID}.scope`), CID);
  assert.equal(containerOfSegment(CID), CID);
  assert.equal(containerOfSegment(`${CID}.scope`), '');
  assert.equal(containerOfSegment('kubepods.slice'), '');
});

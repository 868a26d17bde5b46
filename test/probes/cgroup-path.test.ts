import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCgroupPath, containerOfSegment } from '../../src/probes/cgroup-path.ts';

const CID = '3f1a9c0d5e7b2a4c6d8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e';
const UID = '9d2b6a4e-1c3f-4e5a-8b7c-0d1e2f3a4b5c';
const UID_ = UID.replace(/-/g, '_');

// [path, container, pod_uid, qos]
const TABLE: [string, string, string, string][] = [
  // root and plain system services
  ['/', '', '', ''],
  ['/system.slice/sshd.service', '', '', ''],
  ['/user.slice/user-1000.slice/session-3.scope', '', '', ''],
  // docker, systemd and cgroupfs drivers
  [`/system.slice/docker-${CID}.scope`, CID, '', ''],
  [`/docker/${CID}`, CID, '', ''],
  [`/system.slice/libpod-${CID}.scope`, CID, '', ''],
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

test('parseCgroupPath: real-looking paths of every driver and runtime', () => {
  for (const [path, container, pod_uid, qos] of TABLE) {
    assert.deepEqual(parseCgroupPath(path), { container, pod_uid, qos }, path);
  }
});

test('containerOfSegment: scopes and bare ids only', () => {
  assert.equal(containerOfSegment(`cri-containerd-${CID}.scope`), CID);
  assert.equal(containerOfSegment(CID), CID);
  assert.equal(containerOfSegment(`${CID}.scope`), '');
  assert.equal(containerOfSegment('kubepods.slice'), '');
});

/**
 * Cgroup path → container, Kubernetes and systemd labels. Pure: no file system, so every convention is table-tested
 * (test/probes/cgroup-path.test.ts). Covers cgroup v1 and v2, the systemd and cgroupfs drivers of the kubelet,
 * the container runtimes' own naming (docker, containerd, CRI-O, podman) and systemd units. Names that need the
 * API server (namespace, pod, container name, workload) come from the pod directory (src/probes/pod-directory.ts).
 */

/** Kubernetes QoS class of a pod, from the kubelet's cgroup layout; '' outside kubepods. */
export type QosClass = 'guaranteed' | 'burstable' | 'besteffort' | '';

/** Labels derived from a cgroup path; '' when the path does not say. */
export interface CgroupPathLabels {
  /** Runtime id of the container (64 hex), from `docker-<id>.scope`, `cri-containerd-<id>.scope`, `/<id>`, … */
  readonly container_id: string;
  readonly pod_uid: string;
  readonly qos: QosClass;
  /** Innermost systemd unit (`nginx.service`, `session-3.scope`) outside kubepods and containers; '' otherwise. */
  readonly unit: string;
}

/** Longest unit name kept (systemd allows 255 characters; the label stays bounded whatever the path says). */
export const UNIT_MAX = 256;

const HEX64 = /^[0-9a-f]{64}$/;
// Runtime scopes (systemd driver): docker-<id>.scope, cri-containerd-<id>.scope, crio-<id>.scope, libpod-<id>.scope.
// crio-conmon-<id>.scope holds CRI-O's monitor process, not the container, so it is not matched.
const SCOPE = /^(?:docker|cri-containerd|crio|libpod)-([0-9a-f]{64})\.scope$/;
// systemd driver pod slice: kubepods-pod<uid>.slice, kubepods-burstable-pod<uid>.slice (uid dashes written as '_');
// a prefix before "kubepods" is allowed (kubelet-kubepods-... on nested set-ups).
const POD_SLICE = /kubepods(?:-(burstable|besteffort))?-pod([0-9a-fA-F_-]+)\.slice$/;
const QOS_SLICE = /kubepods-(burstable|besteffort)\.slice$/;
const POD_DIR = /^pod([0-9a-fA-F-]+)$/;
// A systemd unit that holds processes: services and scopes (slices only group other units).
const UNIT = /^[\w:.@\\-]+\.(?:service|scope)$/;

/** Container id of one path segment, or '' when the segment is not a container's cgroup. */
export function containerOfSegment(seg: string): string {
  const scope = SCOPE.exec(seg);
  if (scope) return scope[1];
  // cgroupfs driver and plain docker: the directory is the 64-hex id itself.
  return HEX64.test(seg) ? seg : '';
}

/**
 * Labels of a cgroup path as the kernel shows it (`/kubepods.slice/…/cri-containerd-<id>.scope`, `/kubepods/burstable/pod<uid>/<id>`,
 * `/docker/<id>`, `/system.slice/docker-<id>.scope`). The innermost container segment wins, so a sub-cgroup a
 * container made for itself still reports its container.
 */
export function parseCgroupPath(path: string): CgroupPathLabels {
  const segs = path.split('/').filter((s) => s.length > 0);
  let container = '';
  let podUid = '';
  let qos: QosClass = '';
  let unit = '';
  let inKubepods = false;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    const id = containerOfSegment(seg);
    if (id) {
      container = id;
      continue;
    }
    if (UNIT.test(seg) && seg.length <= UNIT_MAX) {
      unit = seg;
      continue;
    }
    // systemd driver: the QoS and the pod are in slice names.
    if (seg.endsWith('.slice') && seg.includes('kubepods')) {
      inKubepods = true;
      const pod = POD_SLICE.exec(seg);
      if (pod) {
        podUid = pod[2].replace(/_/g, '-').toLowerCase();
        qos = (pod[1] as QosClass | undefined) ?? 'guaranteed';
        continue;
      }
      const q = QOS_SLICE.exec(seg);
      if (q) qos = q[1] as QosClass;
      continue;
    }
    // cgroupfs driver: /kubepods[/burstable|/besteffort]/pod<uid>/<container id>.
    if (seg === 'kubepods') {
      inKubepods = true;
      continue;
    }
    if (inKubepods && !podUid && (seg === 'burstable' || seg === 'besteffort')) {
      qos = seg;
      continue;
    }
    const pod = inKubepods ? POD_DIR.exec(seg) : null;
    if (pod) {
      podUid = pod[1].toLowerCase();
      // A pod directly under kubepods has no QoS level of its own: the kubelet puts guaranteed pods there.
      if (!qos) qos = 'guaranteed';
    }
  }
  // A container or a pod is named by the pod directory (or only by its id), not by the unit that started it.
  if (container || inKubepods) unit = '';
  return { container_id: container, pod_uid: podUid, qos, unit };
}

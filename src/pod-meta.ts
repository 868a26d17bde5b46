/**
 * What the network side's pod cache tells the probe side about the pods on this node: enough to name a cgroup
 * (namespace, pod, container, workload, QoS) on series, incidents, bundles and Slack. It crosses the channel from the
 * side that parses network input, so every field is bounded and shaped like what the API server allows.
 */
import { z } from 'zod';

/** Most pods one node can run (kubelet's --max-pods is 110 by default; large nodes raise it to a few hundred). */
export const PODS_PER_NODE_MAX = 1024;
/** Containers (with init and ephemeral ones) of one pod. */
export const CONTAINERS_PER_POD_MAX = 64;

/** DNS-1123 label (namespaces, container names). */
const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
/** DNS-1123 subdomain (pod and workload names). */
const dnsSubdomain = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);

/** A container of a pod: its runtime id (hex, without the `containerd://` scheme) and its name in the pod spec. */
export const PodContainerSchema = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{12,128}$/),
  name: dnsLabel,
});

/** One pod on this node. */
export const PodMetaSchema = z.strictObject({
  uid: z.string().regex(/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/),
  namespace: dnsLabel,
  name: dnsSubdomain,
  qos: z.enum(['Guaranteed', 'Burstable', 'BestEffort', '']),
  /** The controller at the top of the owner chain (Deployment, StatefulSet, DaemonSet, Job, CronJob, …). */
  workload: z.strictObject({ kind: z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,62}$/), name: dnsSubdomain }).optional(),
  containers: z.array(PodContainerSchema).max(CONTAINERS_PER_POD_MAX),
});

export type PodMeta = z.output<typeof PodMetaSchema>;
export type PodContainer = z.output<typeof PodContainerSchema>;

/** The whole set of pods on this node, as the network side's cache holds it now (sent again after each change). */
export const PodSnapshotSchema = z.strictObject({ pods: z.array(PodMetaSchema).max(PODS_PER_NODE_MAX) });
export type PodSnapshot = z.output<typeof PodSnapshotSchema>;

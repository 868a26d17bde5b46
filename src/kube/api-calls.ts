/**
 * Every Kubernetes API call tripline makes, one line each: the RBAC of deploy/kubernetes grants exactly these
 * (a test compares them), and the client refuses a call that is not listed here. Adding a call = a line here.
 */

/** One kind of call: API group ('' = core), resource (with `/subresource`), verb, and why tripline makes it. */
export interface KubeApiCall {
  readonly group: '' | 'apps' | 'autoscaling';
  readonly resource: string;
  readonly verb: 'get' | 'list' | 'watch' | 'patch';
  readonly why: string;
}

export const KUBE_API_CALLS: readonly KubeApiCall[] = [
  { group: '', resource: 'pods', verb: 'get', why: 'scale: the pod an incident names, and its owner' },
  {
    group: '',
    resource: 'pods',
    verb: 'list',
    why: "pod cache: this node's pods (fieldSelector spec.nodeName); scale: a pod by UID when the cache does not know it (this node's, then the cluster's, paginated)",
  },
  {
    group: '',
    resource: 'pods',
    verb: 'watch',
    why: "pod cache: changes to this node's pods (fieldSelector spec.nodeName), resumed from the list's resourceVersion",
  },
  {
    group: 'apps',
    resource: 'replicasets',
    verb: 'get',
    why: 'pod cache and scale: the Deployment that owns a pod (cached per ReplicaSet)',
  },
  { group: 'apps', resource: 'deployments/scale', verb: 'get', why: 'scale: current replicas' },
  { group: 'apps', resource: 'deployments/scale', verb: 'patch', why: 'scale: raise replicas' },
  { group: 'apps', resource: 'statefulsets/scale', verb: 'get', why: 'scale: current replicas' },
  { group: 'apps', resource: 'statefulsets/scale', verb: 'patch', why: 'scale: raise replicas' },
  { group: 'autoscaling', resource: 'horizontalpodautoscalers', verb: 'list', why: 'scale: the HPA of a workload' },
  {
    group: 'autoscaling',
    resource: 'horizontalpodautoscalers',
    verb: 'get',
    why: 'scale: restore minReplicas only while it still holds the value tripline set',
  },
  {
    group: 'autoscaling',
    resource: 'horizontalpodautoscalers',
    verb: 'patch',
    why: 'scale: raise minReplicas, and restore it after the incident',
  },
];

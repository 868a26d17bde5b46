/**
 * HorizontalPodAutoscalers: when one targets the workload, changing `replicas` is undone at the HPA's next sync,
 * so tripline raises the HPA's `minReplicas` instead (never above its `maxReplicas`).
 */
import type { KubeClient } from '../../kube/client.ts';
import type { WorkloadRef } from './owner.ts';

/** The parts of an HPA tripline reads. */
export interface Hpa {
  readonly namespace: string;
  readonly name: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
}

interface HpaList {
  readonly items: readonly {
    readonly metadata: { readonly name: string; readonly namespace: string };
    readonly spec: {
      readonly minReplicas?: number;
      readonly maxReplicas: number;
      readonly scaleTargetRef: { readonly kind: string; readonly name: string; readonly apiVersion?: string };
    };
  }[];
}

/** The autoscaling API served by every supported Kubernetes (v2 is GA since 1.23). */
const HPA_API = '/apis/autoscaling/v2';

/** The HPA whose scaleTargetRef is the workload, if any. */
export async function findHpa(client: KubeClient, w: WorkloadRef): Promise<Hpa | undefined> {
  const list = await client.get<HpaList>(
    `${HPA_API}/namespaces/${encodeURIComponent(w.namespace)}/horizontalpodautoscalers`,
  );
  const hit = list.items.find(
    (h) =>
      h.spec.scaleTargetRef.kind === w.kind &&
      h.spec.scaleTargetRef.name === w.name &&
      (h.spec.scaleTargetRef.apiVersion === undefined || h.spec.scaleTargetRef.apiVersion.startsWith('apps/')),
  );
  if (!hit) return undefined;
  // minReplicas defaults to 1 in the API.
  return {
    namespace: hit.metadata.namespace,
    name: hit.metadata.name,
    minReplicas: hit.spec.minReplicas ?? 1,
    maxReplicas: hit.spec.maxReplicas,
  };
}

/** The API path of an HPA. */
export function hpaPath(h: Pick<Hpa, 'namespace' | 'name'>): string {
  return `${HPA_API}/namespaces/${encodeURIComponent(h.namespace)}/horizontalpodautoscalers/${encodeURIComponent(h.name)}`;
}

/** The merge patch that raises an HPA's floor. */
export function hpaPatch(minReplicas: number): { spec: { minReplicas: number } } {
  return { spec: { minReplicas } };
}

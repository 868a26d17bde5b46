/** What the scale action asks of the network side's pod cache (src/kube/pod-cache.ts): a pod of this node by uid. */
import type { PodMeta } from '../pod-meta.ts';

/** The pods of this node, as far as the cache knows them. */
export interface PodLookup {
  /** This node's name. */
  readonly node: string;
  /** True once the first list is in: a miss then means "not on this node (any more)". */
  readonly synced: boolean;
  /** The pod with this uid on this node, when known. */
  byUid(uid: string): PodMeta | undefined;
}

/**
 * What deep probes report that captures turn into findings and bundles carry: weighted stacks (profile, offcpu)
 * and run-queue neighbours (runqslower). Defined here, with their producers, so probes never import bundle/.
 */

/** A task that ran while the target waited (from runqslower). */
export interface Neighbour {
  readonly pid: number;
  readonly comm: string;
  readonly cgroupId: string;
  readonly cgroupPath: string;
  /** Number of target delays above the threshold during which it held the CPU, and their total. */
  readonly count: number;
  readonly delaySeconds: number;
}

/** A stack with its weight: samples for profile, seconds for offcpu. Frames leaf last ("root;...;leaf"). */
export interface StackWeight {
  readonly frames: readonly string[];
  readonly weight: number;
  readonly unit: 'samples' | 'seconds';
  readonly comm?: string;
  readonly reason?: string;
}

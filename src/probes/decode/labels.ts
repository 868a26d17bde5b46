/**
 * Label objects of per-cgroup map entries, one frozen `{ cgroup_id }` per cgroup kept across reads: a read of a map
 * with 1,000 cgroups then builds no BigInt, string or object for cgroups it saw at the previous read, and the
 * sampler's caches keyed by labels objects (series keys, cgroup labels, unchanged samples) keep hitting.
 */
import type { Labels } from '../../samples.ts';

/** Reads a cgroup id key at `offset` of a map key. */
export type CgroupLabelsOf = (key: Buffer, offset: number) => Labels;

/** Fresh labels each call (decoders' default, for tests and one-off reads). */
export const freshCgroupLabels: CgroupLabelsOf = (key, offset) => ({
  cgroup_id: key.readBigUInt64LE(offset).toString(),
});

/** One family's labels cache: `of` during a read, then `sweep()` forgets cgroups the read did not see. */
export class CgroupLabels {
  #now = new Map<number, Labels>();
  #before = new Map<number, Labels>();

  readonly of: CgroupLabelsOf = (key, offset) => {
    const hi = key.readUInt32LE(offset + 4);
    // Ids are inode numbers, far below 2^53; anything above is labelled afresh rather than rounded.
    if (hi >= 0x20_0000) return freshCgroupLabels(key, offset);
    const id = hi * 0x1_0000_0000 + key.readUInt32LE(offset);
    let l = this.#now.get(id);
    if (l) return l;
    l = this.#before.get(id) ?? Object.freeze({ cgroup_id: String(id) });
    this.#now.set(id, l);
    return l;
  };

  /** Ends a read: labels of cgroups it did not report are dropped. */
  sweep(): void {
    this.#before = this.#now;
    this.#now = new Map();
  }
}

/**
 * Cgroup id → path → labels. The id is the inode number of the cgroup's directory in the cpu hierarchy, which is what
 * BPF programs read (`task->cgroups->subsys[cpu_cgrp_id]->cgroup->kn->id`). Ids are kept as decimal strings (u64).
 * The resolver walks the hierarchy once, caches, and walks again on a miss, at most once per `minRefreshMs`.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findCpuMount, type CgroupMount } from './cgroup-mount.ts';
import { parseCgroupPath, type CgroupPathLabels } from './cgroup-path.ts';

/** One cgroup of the cpu hierarchy. */
export interface CgroupInfo {
  /** Decimal inode number of the directory (the kernel's cgroup id). */
  readonly id: string;
  /** Path relative to the mount point, '/' for the mount's own cgroup. */
  readonly rel: string;
  /** Cgroup path as the kernel names it (the mount root joined with `rel`): what labels are parsed from. */
  readonly path: string;
  /** Absolute directory. */
  readonly dir: string;
  readonly labels: CgroupPathLabels;
}

const NO_LABELS: CgroupPathLabels = Object.freeze({ container_id: '', pod_uid: '', qos: '', unit: '' });

/** What the sampler needs from a resolver (tests may hand in another). */
export interface CgroupLookup {
  resolve(id: string): CgroupInfo | undefined;
}

/** Joins a mount root and a relative path without doubling slashes. */
export function cgroupPath(root: string, rel: string): string {
  if (root === '/' || root === '') return rel;
  return rel === '/' ? root : `${root}${rel}`;
}

/**
 * Every cgroup directory under the mount, depth first, with its id. Cgroups that vanish during the walk are skipped
 * (they come and go all the time). `visit` may return false to skip a subtree; `labels: false` leaves labels empty.
 */
export function walkCgroups(
  mount: CgroupMount,
  visit?: (c: CgroupInfo) => boolean | void,
  opts: { labels?: boolean } = {},
): CgroupInfo[] {
  // Callers that only need ids and directories skip the path parsing (a walk of 1,000 cgroups every few seconds).
  const withLabels = opts.labels ?? true;
  const out: CgroupInfo[] = [];
  const stack: string[] = ['/'];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    const dir = rel === '/' ? mount.dir : join(mount.dir, rel);
    let ino: bigint;
    let nlink: bigint;
    try {
      ({ ino, nlink } = statSync(dir, { bigint: true }));
    } catch {
      continue;
    }
    const path = cgroupPath(mount.root, rel);
    const info: CgroupInfo = {
      id: ino.toString(),
      rel,
      path,
      dir,
      labels: withLabels ? parseCgroupPath(path) : NO_LABELS,
    };
    out.push(info);
    if (visit && visit(info) === false) continue;
    // Cgroup directories count their subdirectories in nlink (2 + children): a leaf needs no readdir,
    // which halves the cost of walking 1,000 cgroups.
    if (nlink === 2n) continue;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) if (e.isDirectory()) stack.push(rel === '/' ? `/${e.name}` : `${rel}/${e.name}`);
  }
  return out;
}

/** Cached id → cgroup map of the cpu hierarchy. */
export class CgroupResolver implements CgroupLookup {
  readonly mount: CgroupMount;
  private byId = new Map<string, CgroupInfo>();
  private lastWalk = -Infinity;
  private readonly minRefreshMs: number;
  private readonly now: () => number;
  /** Walks done so far (exported as engine health; tests check the rate limit with it). */
  walks = 0;

  /** `minRefreshMs`: least time between two walks caused by misses. @defaultValue 5000 */
  constructor(opts: { mount?: CgroupMount; minRefreshMs?: number; now?: () => number } = {}) {
    this.mount = opts.mount ?? findCpuMount();
    this.minRefreshMs = opts.minRefreshMs ?? 5000;
    this.now = opts.now ?? Date.now;
  }

  /** The cgroup of an id; walks the hierarchy again on a miss unless it did so less than `minRefreshMs` ago. */
  resolve(id: string): CgroupInfo | undefined {
    const hit = this.byId.get(id);
    if (hit) return hit;
    if (this.now() - this.lastWalk < this.minRefreshMs) return undefined;
    this.refresh();
    return this.byId.get(id);
  }

  /** Walks the whole hierarchy now and replaces the cache (forgets removed cgroups). */
  refresh(): void {
    const next = new Map<string, CgroupInfo>();
    for (const c of walkCgroups(this.mount)) next.set(c.id, c);
    this.byId = next;
    this.lastWalk = this.now();
    this.walks++;
  }

  /** Cgroups known since the last walk. */
  list(): CgroupInfo[] {
    return [...this.byId.values()];
  }
}

/**
 * The set of cgroups the file-based families read each tick: cgroups with a CPU quota, plus every cgroup under a
 * configured parent. Reading only those keeps 1,000 cgroups cheap; the tree is walked again every `rescanEvery`
 * reads (not every tick), and a cgroup that vanishes between walks is dropped on its first failed read.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupMount } from '../cgroup-mount.ts';
import { walkCgroups } from '../cgroups.ts';
import { FileReader } from './file-reader.ts';

/** A cgroup selected by the scan. */
export interface ScannedCgroup {
  readonly id: string;
  readonly rel: string;
  /** Directory in the cpu hierarchy. */
  readonly dir: string;
  /** v1: the same cgroup's directory in a cpuacct hierarchy mounted apart (may not exist). */
  readonly acctDir?: string;
  /** `<dir>/cpu.stat`, joined once per walk rather than once per read. */
  readonly statPath: string;
  /** `<acctDir>/cpuacct.usage` (v1 with cpuacct apart). */
  readonly usagePath?: string;
  /** CPU limit in cores; undefined when unlimited. */
  readonly quotaCores?: number;
  /** `{ cgroup_id }`, one frozen object per cgroup: the sampler caches series keys by label object. */
  readonly labels: Readonly<{ cgroup_id: string }>;
}

export interface CgroupScanOptions {
  readonly mount: CgroupMount;
  /** Reads between two walks of the hierarchy: 5 finds a new cgroup within 5 s (a walk of 1,000 cgroups costs ~17 ms, about three ticks' worth of reads). @defaultValue 5 */
  readonly rescanEvery?: number;
  /** Paths relative to the mount whose whole subtree is read, quota or not. */
  readonly parents?: readonly string[];
  /** At most this many cgroups are read (the walk stops adding past it). @defaultValue 10240 */
  readonly maxCgroups?: number;
}

const small = Buffer.allocUnsafe(256);
/** A small file's text without readFileSync's fstat and allocations (walks read 1,000s of them). */
function readSmall(path: string): string {
  const fd = openSync(path, 'r');
  try {
    return small.toString('latin1', 0, readSync(fd, small, 0, small.length, 0));
  } finally {
    closeSync(fd);
  }
}

/** Quota in cores from the cgroup's files, or undefined when unlimited or unreadable. `read` reads one small file. */
export function readQuotaCores(
  mount: CgroupMount,
  dir: string,
  read: (path: string) => string = readSmall,
): number | undefined {
  try {
    if (mount.version === 1) {
      const quota = Number(read(join(dir, 'cpu.cfs_quota_us')));
      if (!(quota > 0)) return undefined; // -1 = unlimited
      const period = Number(read(join(dir, 'cpu.cfs_period_us')));
      return period > 0 ? quota / period : undefined;
    }
    // v2 cpu.max: "<quota|max> <period>"; absent unless the parent enables the cpu controller.
    const [quota, period] = read(join(dir, 'cpu.max')).trim().split(/\s+/);
    if (quota === 'max') return undefined;
    return Number(period) > 0 ? Number(quota) / Number(period) : undefined;
  } catch {
    return undefined;
  }
}

/** Periodic selection of the cgroups worth reading. */
export class CgroupScan {
  private readonly opts: CgroupScanOptions;
  private cgroups: ScannedCgroup[] = [];
  private reads = 0;
  // Quota files stay open between walks: a walk of 1,000 cgroups then costs ~1,000 preads instead of ~2,000
  // open/read/close, which matters at a walk every few seconds.
  private readonly quotaFiles = new FileReader(2048);
  /** Walks done (tests check that not every read walks). */
  walks = 0;
  /** Cgroups left out because of `maxCgroups` at the last walk. */
  overflow = 0;

  constructor(opts: CgroupScanOptions) {
    this.opts = opts;
  }

  /** The selected cgroups; walks the hierarchy on the first call and then every `rescanEvery` calls. */
  current(): readonly ScannedCgroup[] {
    if (this.reads++ % (this.opts.rescanEvery ?? 5) === 0) this.rescan();
    return this.cgroups;
  }

  /** Forgets a cgroup found gone (until the next walk finds it again, if it comes back). */
  drop(id: string): void {
    this.cgroups = this.cgroups.filter((c) => c.id !== id);
  }

  /** Walks now. */
  rescan(): void {
    const { mount, maxCgroups = 10240 } = this.opts;
    // Config may write parents with or without slashes: "kubepods", "/kubepods/".
    const parents = (this.opts.parents ?? []).map((p) => `/${p.replace(/^\/+|\/+$/g, '')}`);
    const watched = (rel: string): boolean => parents.some((p) => p === '/' || rel === p || rel.startsWith(`${p}/`));
    const out: ScannedCgroup[] = [];
    const prevLabels = new Map(this.cgroups.map((c) => [c.id, c.labels]));
    let overflow = 0;
    const dirs = new Set<string>();
    const read = (path: string): string => this.quotaFiles.read(path);
    for (const c of walkCgroups(mount, undefined, { labels: false })) {
      // The root cgroup is never throttled and has no cpu.stat totals of its own on v1.
      if (c.rel === '/') continue;
      dirs.add(c.dir);
      const quotaCores = readQuotaCores(mount, c.dir, read);
      if (quotaCores === undefined && !watched(c.rel)) continue;
      if (out.length >= maxCgroups) {
        overflow++;
        continue;
      }
      const acctDir = mount.version === 1 && mount.cpuacctDir ? join(mount.cpuacctDir, c.rel) : undefined;
      const labels = prevLabels.get(c.id) ?? Object.freeze({ cgroup_id: c.id });
      const statPath = join(c.dir, 'cpu.stat');
      const usagePath = acctDir && join(acctDir, 'cpuacct.usage');
      out.push({ id: c.id, rel: c.rel, dir: c.dir, acctDir, statPath, usagePath, quotaCores, labels });
    }
    this.quotaFiles.retain((p) => dirs.has(p.slice(0, p.lastIndexOf('/'))));
    this.cgroups = out;
    this.overflow = overflow;
    this.walks++;
  }

  /** Closes the quota files (idempotent). */
  close(): void {
    this.quotaFiles.close();
  }
}

/**
 * Creates and removes a cgroup with a CPU quota in the cpu hierarchy (v1: cpu.cfs_quota_us / cpu.cfs_period_us, also
 * made in a separate cpuacct hierarchy so usage is accounted; v2: cpu.max). Used by kernel tests and `tripline demo`.
 */
import { mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { TriplineError } from '../errors.ts';
import { findCpuMount, type CgroupMount } from '../probes/cgroup-mount.ts';
import { cgroupPath } from '../probes/cgroups.ts';

/** A cgroup made by `createCgroup`; `destroy()` moves any process left back to the parent and removes it. */
export interface ManagedCgroup {
  /** Path relative to the cpu mount, e.g. /tripline-test-123-ab12. */
  readonly rel: string;
  /** Cgroup path as the kernel names it (labels, BPF). */
  readonly path: string;
  /** Decimal cgroup id (inode of the cpu directory). */
  readonly id: string;
  /** Directories made (cpu, then cpuacct when mounted apart). */
  readonly dirs: readonly string[];
  /** Moves a process (all its threads) into the cgroup. */
  addPid(pid: number): void;
  /** Pids in the cgroup now. */
  pids(): number[];
  /** Idempotent; never throws for a cgroup already gone. */
  destroy(): void;
}

export interface CreateCgroupOptions {
  /** Path below the cpu mount; one segment or several (parents must exist). */
  readonly name: string;
  /** CPU limit in cores (0.1 = 10% of one CPU); unset = no quota. */
  readonly quotaCores?: number;
  /** CFS period in µs. @defaultValue 100000 */
  readonly periodUs?: number;
  readonly mount?: CgroupMount;
}

const write = (file: string, text: string): void => {
  try {
    writeFileSync(file, text);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new TriplineError(
      code === 'EACCES' || code === 'EPERM' ? 'PROBE_ERR_PERMISSION' : 'PROBE_ERR_CONFIG',
      `cannot write ${JSON.stringify(text)} to ${file}: ${(cause as Error).message}`,
      {
        hint:
          code === 'EACCES' || code === 'EPERM'
            ? 'run as root (or with write access to the cgroup hierarchy)'
            : 'check the value and that the cgroup still exists',
        cause,
      },
    );
  }
};

/** Makes the cgroup and sets its quota; throws PROBE_ERR_PERMISSION / PROBE_ERR_CONFIG with a hint on failure. */
export function createCgroup(opts: CreateCgroupOptions): ManagedCgroup {
  if (
    !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(opts.name) ||
    opts.name.split('/').some((s) => s === '..' || s === '.')
  ) {
    throw new TriplineError('PROBE_ERR_CONFIG', `bad cgroup name ${JSON.stringify(opts.name)}`, {
      hint: 'use letters, digits, dot, dash and underscore, segments separated by /',
    });
  }
  const mount = opts.mount ?? findCpuMount();
  const rel = `/${opts.name}`;
  const dirs = [join(mount.dir, rel)];
  if (
    mount.version === 1 &&
    mount.cpuacctDir &&
    mount.cpuacctDir !== mount.dir &&
    existsSync(join(mount.cpuacctDir, dirname(rel)))
  )
    dirs.push(join(mount.cpuacctDir, rel));
  for (const d of dirs) {
    try {
      mkdirSync(d);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw new TriplineError(
          code === 'EACCES' || code === 'EPERM' ? 'PROBE_ERR_PERMISSION' : 'PROBE_ERR_CONFIG',
          `cannot create cgroup ${d}: ${(cause as Error).message}`,
          { hint: 'run as root; parents of the cgroup must exist', cause },
        );
      }
    }
  }
  const cpuDir = dirs[0];
  const period = opts.periodUs ?? 100_000;
  let destroyed = false;
  const cg: ManagedCgroup = {
    rel,
    path: cgroupPath(mount.root, rel),
    id: statSync(cpuDir, { bigint: true }).ino.toString(),
    dirs,
    addPid(pid) {
      for (const d of dirs) write(join(d, 'cgroup.procs'), String(pid));
    },
    pids() {
      return readPids(cpuDir);
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      // Children first is the caller's business; here: evacuate, then rmdir (retry: exiting tasks linger briefly).
      for (const d of [...dirs].reverse()) removeCgroupDir(d);
    },
  };
  try {
    if (opts.quotaCores !== undefined) {
      if (!(opts.quotaCores > 0))
        throw new TriplineError('PROBE_ERR_CONFIG', `quotaCores must be > 0, got ${opts.quotaCores}`, {
          hint: 'e.g. 0.1 for 10% of one CPU',
        });
      // The kernel refuses quotas below 1 ms.
      const quota = Math.max(1000, Math.round(opts.quotaCores * period));
      if (mount.version === 1) {
        write(join(cpuDir, 'cpu.cfs_period_us'), String(period));
        write(join(cpuDir, 'cpu.cfs_quota_us'), String(quota));
      } else {
        enableCpuController(dirname(cpuDir), mount.dir);
        write(join(cpuDir, 'cpu.max'), `${quota} ${period}`);
      }
    }
  } catch (err) {
    cg.destroy();
    throw err;
  }
  return cg;
}

function readPids(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** v2: the cpu controller must be enabled in every ancestor's subtree_control for cpu.max to exist. */
function enableCpuController(parent: string, top: string): void {
  const chain: string[] = [];
  for (let d = parent; d.startsWith(top); d = dirname(d)) {
    chain.unshift(d);
    if (d === top) break;
  }
  for (const d of chain) {
    const ctl = join(d, 'cgroup.subtree_control');
    if (!readFileSync(ctl, 'utf8').split(/\s+/).includes('cpu')) write(ctl, '+cpu');
  }
}

/** Moves the processes of a cgroup directory to its parent and removes it; quiet when already gone. */
export function removeCgroupDir(dir: string): void {
  if (!existsSync(dir)) return;
  const parentProcs = join(dirname(dir), 'cgroup.procs');
  for (let attempt = 0; attempt < 50; attempt++) {
    for (const pid of readPids(dir)) {
      try {
        writeFileSync(parentProcs, String(pid));
      } catch {
        /* exited meanwhile */
      }
    }
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY')
        throw new TriplineError('PROBE_ERR_CONFIG', `cannot remove cgroup ${dir}: ${(err as Error).message}`, {
          hint: 'remove its child cgroups first',
          cause: err,
        });
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  throw new TriplineError('PROBE_ERR_CONFIG', `cgroup ${dir} stays busy`, {
    hint: `move its processes out (cat ${dir}/cgroup.procs) and rmdir it`,
  });
}

/**
 * Where the cpu controller's cgroup hierarchy is mounted: cgroup v1 (`/sys/fs/cgroup/cpu`, maybe shared with cpuacct)
 * or the v2 unified hierarchy when it has the cpu controller. Parsing of /proc/self/mountinfo is pure; the file
 * reads are in `findCpuMount`.
 */
import { readFileSync } from 'node:fs';
import { TriplineError } from '../errors.ts';

/** The hierarchy tripline labels cgroups from (the one BPF's `task->cgroups->subsys[cpu_cgrp_id]` points into). */
export interface CgroupMount {
  readonly version: 1 | 2;
  /** Mount point, e.g. /sys/fs/cgroup/cpu. */
  readonly dir: string;
  /** Cgroup path of the mount point (mountinfo "root"): '/' on the host, the container's own cgroup inside one. */
  readonly root: string;
  /** v1 only: mount point of cpuacct (same as `dir` when co-mounted as cpu,cpuacct; undefined when absent). */
  readonly cpuacctDir?: string;
}

/** One cgroup mount from mountinfo. */
export interface CgroupMountEntry {
  readonly fstype: 'cgroup' | 'cgroup2';
  readonly dir: string;
  readonly root: string;
  /** v1: controllers named in the super options (cpu, cpuacct, name=systemd, ...). */
  readonly options: readonly string[];
}

// mountinfo escapes space, tab, newline and backslash as \ooo octal.
const unescape = (s: string): string =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Cgroup mounts listed in a mountinfo text (proc(5) format). */
export function parseCgroupMounts(mountinfo: string): CgroupMountEntry[] {
  const out: CgroupMountEntry[] = [];
  for (const line of mountinfo.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const pre = line.slice(0, dash).split(' ');
    const post = line.slice(dash + 3).split(' ');
    const fstype = post[0];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    out.push({
      fstype,
      root: unescape(pre[3] ?? '/'),
      dir: unescape(pre[4] ?? ''),
      options: (post[2] ?? '').split(','),
    });
  }
  return out;
}

/**
 * Picks the cpu hierarchy among mounts: a v1 mount with the `cpu` option wins (then v2 cannot have cpu); otherwise the
 * first v2 mount for which `hasCpu(dir)` says its cgroup.controllers lists cpu.
 */
export function pickCpuMount(
  mounts: readonly CgroupMountEntry[],
  hasCpu: (dir: string) => boolean,
): CgroupMount | undefined {
  const v1 = mounts.find((m) => m.fstype === 'cgroup' && m.options.includes('cpu'));
  if (v1) {
    const acct = mounts.find((m) => m.fstype === 'cgroup' && m.options.includes('cpuacct'));
    return { version: 1, dir: v1.dir, root: v1.root, cpuacctDir: acct?.dir };
  }
  const v2 = mounts.find((m) => m.fstype === 'cgroup2' && hasCpu(m.dir));
  return v2 ? { version: 2, dir: v2.dir, root: v2.root } : undefined;
}

/** Finds the cpu controller's hierarchy of this host; throws PROBE_ERR_UNSUPPORTED when there is none. */
export function findCpuMount(mountinfoFile = '/proc/self/mountinfo'): CgroupMount {
  let text: string;
  try {
    text = readFileSync(mountinfoFile, 'utf8');
  } catch (cause) {
    throw new TriplineError('PROBE_ERR_UNSUPPORTED', `cannot read ${mountinfoFile}`, { hint: 'mount /proc', cause });
  }
  const hasCpu = (dir: string): boolean => {
    try {
      return readFileSync(`${dir}/cgroup.controllers`, 'utf8').split(/\s+/).includes('cpu');
    } catch {
      return false;
    }
  };
  const mount = pickCpuMount(parseCgroupMounts(text), hasCpu);
  if (!mount) {
    throw new TriplineError('PROBE_ERR_UNSUPPORTED', 'no cgroup hierarchy with the cpu controller is mounted', {
      hint: 'mount cgroup v2 at /sys/fs/cgroup with the cpu controller enabled, or cgroup v1 with: mount -t cgroup -o cpu,cpuacct cgroup /sys/fs/cgroup/cpu',
    });
  }
  return mount;
}

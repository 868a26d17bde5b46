/**
 * cpustat: CFS throttling and CPU usage per cgroup from files (no BPF). v1: cpu.stat nr_periods, nr_throttled,
 * throttled_time (ns) and cpuacct.usage (ns); v2: cpu.stat nr_periods, nr_throttled, throttled_usec, usage_usec.
 * Quota from cpu.cfs_quota_us / cpu.cfs_period_us (v1) or cpu.max (v2), refreshed at each rescan.
 * Cost: one or two small file reads per busy cgroup per tick (idle ones every `idleEvery` ticks), on descriptors kept
 * open (see FileReader), and a walk of the hierarchy every `rescanEvery` ticks (see CgroupScan for which cgroups).
 */
import { findCpuMount, type CgroupMount } from '../cgroup-mount.ts';
import { CgroupScan } from './cgroup-scan.ts';
import { FileReader } from './file-reader.ts';
import type { CounterFactory, CounterFamily, Reading } from './types.ts';
import { cpustat as spec } from './spec/cpustat.ts';
import { entryFields } from './spec/types.ts';

/** `key value` lines of cpu.stat as numbers. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0) out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** Readings of one cgroup from its cpu.stat text (and v1 cpuacct.usage in ns, when read). Pure. */
export function cpuStatReadings(
  version: 1 | 2,
  id: string,
  stat: Map<string, number>,
  usageNs?: number,
  quotaCores?: number,
  labels: Reading['labels'] = { cgroup_id: id },
): Reading[] {
  const out: Reading[] = [];
  const counter = (signal: string, value: number | undefined): void => {
    if (value !== undefined && Number.isFinite(value)) out.push({ kind: 'counter', signal, labels, value });
  };
  counter('cpu_periods', stat.get('nr_periods'));
  counter('cpu_throttled_periods', stat.get('nr_throttled'));
  if (version === 1) {
    const t = stat.get('throttled_time');
    counter('cpu_throttled_seconds', t === undefined ? undefined : t / 1e9);
    counter('cpu_usage_seconds', usageNs === undefined ? undefined : usageNs / 1e9);
  } else {
    const t = stat.get('throttled_usec');
    const u = stat.get('usage_usec');
    counter('cpu_throttled_seconds', t === undefined ? undefined : t / 1e6);
    counter('cpu_usage_seconds', u === undefined ? undefined : u / 1e6);
  }
  if (quotaCores !== undefined) out.push({ kind: 'gauge', signal: 'cpu_quota_cores', labels, value: quotaCores });
  return out;
}

export interface CpuStatOptions {
  readonly mount?: CgroupMount;
  /** Reads between walks of the hierarchy. @defaultValue 5 */
  readonly rescanEvery?: number;
  /** Subtrees read even without a quota (relative to the mount). */
  readonly parents?: readonly string[];
  /** @defaultValue 10240 */
  readonly maxCgroups?: number;
  /** Files kept open for cheap re-reads. @defaultValue 4096 */
  readonly maxOpenFiles?: number;
  /**
   * A cgroup whose files did not change at its last read is idle and read again only every `idleEvery` reads
   * (staggered by id), its last values repeated in between; a change puts it back on every read. Throttling needs
   * CFS periods, which need runnable tasks, so an idle cgroup's first activity shows at most `idleEvery − 1` ticks
   * late, with its deltas whole. 1 reads everything every tick. @defaultValue 5
   */
  readonly idleEvery?: number;
}

interface LastRead {
  readonly stat: string;
  readonly usage: string | undefined;
  readonly readings: Reading[];
  readonly quiet: boolean;
}

/** Starts a cpustat family; throws PROBE_ERR_UNSUPPORTED when no cpu hierarchy is mounted. */
export function createCpuStatFamily(opts: CpuStatOptions = {}): CounterFamily {
  const mount = opts.mount ?? findCpuMount();
  const scan = new CgroupScan({
    mount,
    rescanEvery: opts.rescanEvery,
    parents: opts.parents,
    maxCgroups: opts.maxCgroups,
  });
  const files = new FileReader(opts.maxOpenFiles);
  let walks = -1;
  // Cgroups without a cpuacct twin (made only in the cpu hierarchy): not retried until the next walk.
  const noAcct = new Set<string>();
  const idleEvery = Math.max(1, Math.floor(opts.idleEvery ?? 5));
  const last = new Map<string, LastRead>();
  let reads = 0;
  return {
    name: 'cpustat',
    read() {
      const out: Reading[] = [];
      const cgroups = scan.current();
      reads++;
      if (scan.walks !== walks) {
        // After a walk, close the files of cgroups no longer selected, and read everything (quotas may have changed).
        walks = scan.walks;
        noAcct.clear();
        last.clear();
        const dirs = new Set<string>();
        for (const c of cgroups) {
          dirs.add(c.dir);
          if (c.acctDir) dirs.add(c.acctDir);
        }
        files.retain((p) => dirs.has(p.slice(0, p.lastIndexOf('/'))));
      }
      for (const c of cgroups) {
        const prev = last.get(c.id);
        if (prev?.quiet && (reads + Number(c.id)) % idleEvery !== 0) {
          for (const r of prev.readings) out.push(r);
          continue;
        }
        let stat: string;
        try {
          stat = files.read(c.statPath);
        } catch {
          scan.drop(c.id); // removed since the last walk
          last.delete(c.id);
          continue;
        }
        let usage: string | undefined;
        if (c.usagePath && !noAcct.has(c.id)) {
          try {
            usage = files.read(c.usagePath);
          } catch {
            noAcct.add(c.id);
          }
        }
        const quiet = prev !== undefined && prev.stat === stat && prev.usage === usage;
        const readings = quiet
          ? prev.readings
          : cpuStatReadings(
              mount.version,
              c.id,
              parseFlatKeyed(stat),
              usage === undefined ? undefined : Number(usage),
              c.quotaCores,
              c.labels,
            );
        last.set(c.id, { stat, usage, readings, quiet });
        for (const r of readings) out.push(r);
      }
      if (last.size > cgroups.length) {
        const ids = new Set(cgroups.map((c) => c.id));
        for (const id of last.keys()) if (!ids.has(id)) last.delete(id);
      }
      return out;
    },
    stats() {
      return { programs: 0, dropped: scan.overflow };
    },
    close() {
      files.close();
      scan.close();
    },
  };
}

/**
 * Subtrees read even without a quota: the kubelet's (cgroupfs and systemd drivers), so BestEffort pods show their
 * usage beside the limited ones.
 */
export const KNOWN_PARENTS = ['/kubepods', '/kubepods.slice'] as const;

/** Registry entry (descriptor in spec/): file-based, kept with --no-bpf. Subtrees in `counters.watch_cgroups` and KNOWN_PARENTS are read even without quota. */
export const cpustat: CounterFactory = {
  ...entryFields(spec),
  start(ctx) {
    return createCpuStatFamily({
      parents: [...ctx.config.counters.watch_cgroups, ...KNOWN_PARENTS],
      maxCgroups: ctx.config.counters.max_cgroups,
    });
  },
};

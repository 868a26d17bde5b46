/**
 * The capture measures its target itself: the target cgroup's cpu.stat (CFS periods, throttled periods and time),
 * CPU usage, quota and PSI (cpu, memory, io) read at the start, every second and at the end of the capture window.
 * A hand-run capture has no sampler history, and the diagnosis needs throttling from cpu.stat whichever path
 * started the capture. The file parsers are the counter families' (cpustat, psi, cgroup-scan): one per concept.
 * PSI is per cgroup where the hierarchy has it (v2 `*.pressure`), else the node's (/proc/pressure/*), marked so.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { LiveSample, LiveStats, PressureShares } from '../bundle/types.ts';
import { findCpuMount, type CgroupMount } from '../probes/cgroup-mount.ts';
import { walkCgroups } from '../probes/cgroups.ts';
import { readQuotaCores } from '../probes/counters/cgroup-scan.ts';
import { parseFlatKeyed } from '../probes/counters/cpustat.ts';
import { FileReader } from '../probes/counters/file-reader.ts';
import { parsePressure } from '../probes/counters/psi.ts';

/** Readings kept per capture (one a second): a 10-minute capture at most; later readings replace the last one. */
export const LIVE_MAX_SAMPLES = 600;
/** Interval between readings. */
export const LIVE_INTERVAL_MS = 1000;

const RESOURCES = ['cpu', 'memory', 'io'] as const;
type Resource = (typeof RESOURCES)[number];

/** Statistics of the readings (oldest first): deltas between the first and the last one. Pure. */
export function liveStats(samples: readonly LiveSample[], pressureScope?: 'cgroup' | 'node'): LiveStats {
  const first = samples[0];
  const last = samples[samples.length - 1];
  const seconds = first && last ? (last.at - first.at) / 1000 : 0;
  const delta = (k: 'periods' | 'throttledPeriods' | 'throttledSeconds' | 'usageSeconds'): number | undefined =>
    first?.[k] !== undefined && last?.[k] !== undefined ? Math.max(0, last[k] - first[k]) : undefined;
  const cpuPeriods = delta('periods');
  const throttledPeriods = delta('throttledPeriods');
  const usage = delta('usageSeconds');
  let quotaCores: number | undefined;
  for (const s of samples) if (s.quotaCores !== undefined) quotaCores = s.quotaCores;
  const pressure: Partial<Record<Resource, PressureShares>> = {};
  for (const r of RESOURCES) {
    const share = (kind: 'some' | 'full'): number | undefined => {
      const a = first?.pressure?.[r]?.[kind];
      const b = last?.pressure?.[r]?.[kind];
      return a !== undefined && b !== undefined && seconds > 0 ? Math.min(1, Math.max(0, b - a) / seconds) : undefined;
    };
    const some = share('some');
    const full = share('full');
    if (some !== undefined || full !== undefined)
      pressure[r] = { ...(some !== undefined ? { some } : {}), ...(full !== undefined ? { full } : {}) };
  }
  const out: LiveStats = {
    samples: samples.length,
    seconds,
    ...(cpuPeriods !== undefined ? { cpuPeriods } : {}),
    ...(throttledPeriods !== undefined ? { throttledPeriods } : {}),
    ...(cpuPeriods && throttledPeriods !== undefined ? { throttledRatio: throttledPeriods / cpuPeriods } : {}),
    ...(delta('throttledSeconds') !== undefined ? { throttledSeconds: delta('throttledSeconds') } : {}),
    ...(usage !== undefined && seconds > 0 ? { usageCores: usage / seconds } : {}),
    ...(quotaCores !== undefined ? { quotaCores } : {}),
    pressure,
    ...(pressureScope && Object.keys(pressure).length > 0 ? { pressureScope } : {}),
    series: [...samples],
  };
  return out;
}

/** The files of one cgroup the sampler reads. */
export interface TargetFiles {
  readonly version: 1 | 2;
  readonly dir: string;
  /** v1 cpuacct.usage (ns); v2 has usage_usec in cpu.stat. */
  readonly usagePath?: string;
  /** Pressure files by resource, and whose they are. */
  readonly pressure: Partial<Record<Resource, string>>;
  readonly pressureScope: 'cgroup' | 'node';
  readonly mount: CgroupMount;
}

/**
 * The directory of the target cgroup: its path under the mount when that directory has the target's id (inode),
 * else found by id in a walk of the hierarchy. Undefined when the cgroup is gone or the target has none.
 */
export function targetFiles(
  target: { cgroupId?: string; cgroupPath?: string },
  mount: CgroupMount = findCpuMount(),
  nodePressureDir = '/proc/pressure',
): TargetFiles | undefined {
  let dir: string | undefined;
  if (target.cgroupPath) {
    const rel =
      mount.root !== '/' && target.cgroupPath.startsWith(mount.root)
        ? target.cgroupPath.slice(mount.root.length)
        : target.cgroupPath;
    const d = rel === '/' || rel === '' ? mount.dir : join(mount.dir, rel);
    try {
      const ino = statSync(d, { bigint: true }).ino.toString();
      if (!target.cgroupId || ino === target.cgroupId) dir = d;
    } catch {
      /* not there: look it up by id */
    }
  }
  if (!dir && target.cgroupId)
    dir = walkCgroups(mount, undefined, { labels: false }).find((c) => c.id === target.cgroupId)?.dir;
  if (!dir) return undefined;
  const rel = dir.slice(mount.dir.length) || '/';
  const usagePath = mount.version === 1 && mount.cpuacctDir ? join(mount.cpuacctDir, rel, 'cpuacct.usage') : undefined;
  const own = mount.version === 2;
  const pressure: Partial<Record<Resource, string>> = {};
  for (const r of RESOURCES) pressure[r] = own ? join(dir, `${r}.pressure`) : join(nodePressureDir, r);
  return { version: mount.version, dir, usagePath, pressure, pressureScope: own ? 'cgroup' : 'node', mount };
}

/** One reading of the target's files now; a file that cannot be read leaves its fields out. */
export function readTarget(files: TargetFiles, reader: FileReader, at = Date.now()): LiveSample {
  const tryRead = (p: string | undefined): string | undefined => {
    if (!p) return undefined;
    try {
      return reader.read(p);
    } catch {
      return undefined;
    }
  };
  const statText = tryRead(join(files.dir, 'cpu.stat'));
  const stat = statText === undefined ? undefined : parseFlatKeyed(statText);
  const num = (v: number | undefined, scale = 1): number | undefined =>
    v !== undefined && Number.isFinite(v) ? v / scale : undefined;
  const v1 = files.version === 1;
  const usageText = v1 ? tryRead(files.usagePath) : undefined;
  const sample: {
    -readonly [K in keyof LiveSample]: LiveSample[K];
  } = {
    at,
    periods: num(stat?.get('nr_periods')),
    throttledPeriods: num(stat?.get('nr_throttled')),
    throttledSeconds: v1 ? num(stat?.get('throttled_time'), 1e9) : num(stat?.get('throttled_usec'), 1e6),
    usageSeconds: v1
      ? num(usageText === undefined ? undefined : Number(usageText), 1e9)
      : num(stat?.get('usage_usec'), 1e6),
    quotaCores: readQuotaCores(files.mount, files.dir, (p) => reader.read(p)),
  };
  const pressure: Partial<Record<Resource, { some?: number; full?: number }>> = {};
  for (const r of RESOURCES) {
    const text = tryRead(files.pressure[r]);
    if (text !== undefined) pressure[r] = parsePressure(text);
  }
  for (const k of Object.keys(sample) as (keyof LiveSample)[]) if (sample[k] === undefined) delete sample[k];
  return Object.keys(pressure).length > 0 ? { ...sample, pressure } : sample;
}

/** Reads the target at start, every `intervalMs` and at `stop()`; never throws (a vanished cgroup ends the series). */
export class TargetSampler {
  private readonly samples: LiveSample[] = [];
  private readonly reader = new FileReader(16);
  private readonly timer: NodeJS.Timeout;
  private stopped = false;
  private readonly files: TargetFiles;

  constructor(files: TargetFiles, intervalMs = LIVE_INTERVAL_MS) {
    this.files = files;
    this.take();
    this.timer = setInterval(() => this.take(), intervalMs);
    this.timer.unref();
  }

  private take(): void {
    const s = readTarget(this.files, this.reader);
    if (s.periods === undefined && s.usageSeconds === undefined) return; // the cgroup is gone
    if (this.samples.length >= LIVE_MAX_SAMPLES) this.samples.pop();
    this.samples.push(s);
  }

  /** The last reading, the statistics of the series; idempotent. */
  stop(): LiveStats {
    if (!this.stopped) {
      this.stopped = true;
      clearInterval(this.timer);
      this.take();
      this.reader.close();
    }
    return liveStats(this.samples, this.files.pressureScope);
  }
}

/** A sampler of the target's cgroup, or undefined when the target has no cgroup here (a pid target, a gone cgroup). */
export function startTargetSampler(
  target: { cgroupId?: string; cgroupPath?: string },
  mount?: CgroupMount,
): TargetSampler | undefined {
  try {
    const files = targetFiles(target, mount ?? findCpuMount());
    return files ? new TargetSampler(files) : undefined;
  } catch {
    return undefined; // no cpu hierarchy mounted: the diagnosis says it had no cpu.stat
  }
}

/**
 * psi: CPU pressure stall information (no BPF). Node level from /proc/pressure/cpu (series with cgroup=""), per cgroup
 * from cpu.pressure on cgroup v2 (the cgroups CgroupScan selects). Totals are µs in the files, seconds here.
 * When the kernel has PSI off (psi=0 or CONFIG_PSI_DEFAULT_DISABLED), the family is unavailable with that reason.
 */
import { join } from 'node:path';
import { TriplineError } from '../../errors.ts';
import { findCpuMount, type CgroupMount } from '../cgroup-mount.ts';
import { CgroupScan } from './cgroup-scan.ts';
import { FileReader } from './file-reader.ts';
import { KNOWN_PARENTS } from './cpustat.ts';
import type { CounterFactory, CounterFamily, Reading } from './types.ts';
import { psi as spec } from './spec/psi.ts';
import { entryFields } from './spec/types.ts';

/** `total=` of the some and full lines of a pressure file, in seconds. Pure. */
export function parsePressure(text: string): { some?: number; full?: number } {
  const out: { some?: number; full?: number } = {};
  for (const line of text.split('\n')) {
    const m = /^(some|full) .*\btotal=(\d+)/.exec(line);
    if (m) out[m[1] as 'some' | 'full'] = Number(m[2]) / 1e6;
  }
  return out;
}

function pressureReadings(p: { some?: number; full?: number }, labels: Record<string, string>): Reading[] {
  const out: Reading[] = [];
  if (p.some !== undefined) out.push({ kind: 'counter', signal: 'cpu_pressure_some_seconds', labels, value: p.some });
  if (p.full !== undefined) out.push({ kind: 'counter', signal: 'cpu_pressure_full_seconds', labels, value: p.full });
  return out;
}

export interface PsiOptions {
  /** @defaultValue /proc/pressure/cpu */
  readonly nodeFile?: string;
  /** Cpu hierarchy; per-cgroup pressure only when it is v2. Null: node level only. */
  readonly mount?: CgroupMount | null;
  readonly rescanEvery?: number;
  readonly parents?: readonly string[];
  readonly maxCgroups?: number;
}

/** Starts the psi family; throws PROBE_ERR_UNSUPPORTED ("PSI disabled") when the node file cannot be read. */
export function createPsiFamily(opts: PsiOptions = {}): CounterFamily {
  const nodeFile = opts.nodeFile ?? '/proc/pressure/cpu';
  const files = new FileReader();
  const readNode = (): string => files.read(nodeFile);
  try {
    readNode();
  } catch (cause) {
    // Missing file: kernel without CONFIG_PSI; EOPNOTSUPP on read: built in but disabled at boot.
    throw new TriplineError(
      'PROBE_ERR_UNSUPPORTED',
      `unavailable: PSI disabled (boot with psi=1): cannot read ${nodeFile}: ${(cause as Error).message}`,
      {
        hint: 'add psi=1 to the kernel command line (needs CONFIG_PSI) and reboot',
        cause,
      },
    );
  }
  let mount = opts.mount;
  if (mount === undefined) {
    try {
      mount = findCpuMount();
    } catch {
      mount = null;
    }
  } // node level still works
  // On v1 the cpu hierarchy has no pressure files; its cgroup ids differ from the v2 ones, so none are read.
  const scan =
    mount && mount.version === 2
      ? new CgroupScan({ mount, rescanEvery: opts.rescanEvery, parents: opts.parents, maxCgroups: opts.maxCgroups })
      : undefined;
  return {
    name: 'psi',
    read() {
      const out = pressureReadings(parsePressure(readNode()), {});
      for (const c of scan?.current() ?? []) {
        let text: string;
        try {
          text = files.read(join(c.dir, 'cpu.pressure'));
        } catch {
          scan!.drop(c.id);
          continue;
        }
        for (const r of pressureReadings(parsePressure(text), c.labels)) out.push(r);
      }
      return out;
    },
    stats() {
      return { programs: 0, dropped: scan?.overflow ?? 0 };
    },
    close() {
      files.close();
      scan?.close();
    },
  };
}

/** Registry entry (descriptor in spec/): file-based, kept with --no-bpf. */
export const psi: CounterFactory = {
  ...entryFields(spec),
  start(ctx) {
    return createPsiFamily({
      parents: [...ctx.config.counters.watch_cgroups, ...KNOWN_PARENTS],
      maxCgroups: ctx.config.counters.max_cgroups,
    });
  },
};

/**
 * blockio family: block I/O latency, issue to completion, per disk and operation (bpf/counters/blockio.bpf.c).
 * Also the bytes each cgroup issued (`blockio_issued_bytes`, the per-cgroup twin of `blockio_latency_seconds`).
 * Disks are named from /sys/dev/block/M:m/uevent (DEVNAME), cached; "M:m" when the disk is gone.
 */
import { readFileSync } from 'node:fs';
import { features } from '../features.ts';
import type { CounterFactory, CounterFamily, Reading } from './types.ts';
import { blockio as spec } from './spec/blockio.ts';
import { entryFields } from './spec/types.ts';
import { chooseHooks, pushAll, startBpfFamily, type HookKind } from './bpf-family.ts';
import { BLOCKIO, decodeBlockioEntry, parseUeventDevname } from '../decode/blockio.ts';
import { HIST_LAYOUT } from '../decode/hist.ts';
import { CGROUP_COUNTER, decodeCgroupCounterEntry } from '../decode/cgroup-counter.ts';
import { CgroupLabels } from '../decode/labels.ts';

const PROGRAMS = ['tlc_bio_issue', 'tlc_bio_done'] as const;

/** Device name of "major:minor" from sysfs, or the numbers themselves. */
export function sysfsDeviceName(majorMinor: string, sysDevBlock = '/sys/dev/block'): string {
  try {
    return parseUeventDevname(readFileSync(`${sysDevBlock}/${majorMinor}/uevent`, 'utf8')) ?? majorMinor;
  } catch {
    return majorMinor;
  }
}

/**
 * Starts the blockio family; `hooks` overrides feature detection (tests); `maxCgroups` sizes the per-cgroup time
 * map (counters.max_cgroups).
 */
export function startBlockio(objDir: string, hooks?: HookKind, opts: { maxCgroups?: number } = {}): CounterFamily {
  const fam = startBpfFamily(
    objDir,
    {
      stem: 'blockio',
      programs: PROGRAMS,
      maps: {
        blockio_latency: { keySize: BLOCKIO.keySize, valueSize: BLOCKIO.valueSize },
        blockio_cgroup_bytes: CGROUP_COUNTER,
        blockio_start: { keySize: 8, valueSize: 8 },
        blockio_drops: { keySize: 4, valueSize: 8 },
      },
      dropsMap: 'blockio_drops',
      open: {
        layouts: { hist: HIST_LAYOUT, ...BLOCKIO.layouts },
        ...(opts.maxCgroups ? { maxEntries: { blockio_cgroup_bytes: opts.maxCgroups } } : {}),
      },
    },
    hooks ?? chooseHooks(features(objDir), 'blockio'),
  );
  const latency = fam.obj.map('blockio_latency');
  const cgBytes = fam.obj.map('blockio_cgroup_bytes');
  const cgLabels = new CgroupLabels();
  const names = new Map<string, string>();
  const device = (mm: string): string => {
    let n = names.get(mm);
    if (n === undefined) {
      n = sysfsDeviceName(mm);
      names.set(mm, n);
    }
    return n;
  };
  return {
    name: 'blockio',
    read(): Reading[] {
      const out: Reading[] = [];
      latency.forEach((k, v) => pushAll(out, decodeBlockioEntry(k, v, fam.cpus, device)));
      cgBytes.forEach((k, v) =>
        pushAll(out, decodeCgroupCounterEntry('blockio_issued_bytes', 1, k, v, fam.cpus, cgLabels.of)),
      );
      cgLabels.sweep();
      return out;
    },
    stats: () => fam.stats(),
    close: () => fam.close(),
  };
}

/** Registry entry: name, bpf flag and signals from the descriptor (spec/), and how to start. */
export const blockio: CounterFactory = {
  ...entryFields(spec),
  start(ctx) {
    return startBlockio(ctx.objDir, undefined, { maxCgroups: ctx.config.counters.max_cgroups });
  },
};

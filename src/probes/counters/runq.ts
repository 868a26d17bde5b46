/**
 * runq family: run-queue delay per cpu cgroup (bpf/counters/runq.bpf.c). Histogram in µs slots plus the count of delays over
 * `counters.runq_threshold` (set as a knob before load, so changing it needs no rebuild).
 */
import { parseDuration } from '../../config.ts';
import { features } from '../features.ts';
import type { CounterFactory, CounterFamily, Reading } from './types.ts';
import { runq as spec } from './spec/runq.ts';
import { entryFields } from './spec/types.ts';
import { chooseHooks, pushAll, startBpfFamily, type HookKind } from './bpf-family.ts';
import { RUNQ, decodeRunqEntry } from '../decode/runq.ts';
import { CgroupLabels } from '../decode/labels.ts';
import { HIST_LAYOUT } from '../decode/hist.ts';

const PROGRAMS = ['tlc_runq_wake', 'tlc_runq_new', 'tlc_runq_switch'] as const;

/** Starts the runq family with a threshold (ns) and a cap on tracked cgroups; `hooks` overrides feature detection (tests). */
export function startRunq(
  objDir: string,
  opts: { thresholdNs: number; maxCgroups: number; hooks?: HookKind },
): CounterFamily {
  const f = features(objDir);
  // The tp_btf programs keep enqueue times in task storage; without it, the raw_tp twins (pid-keyed hash) run.
  const hooks = opts.hooks ?? chooseHooks(f, 'runq', ['taskStorage']);
  const fam = startBpfFamily(
    objDir,
    {
      stem: 'runq',
      programs: PROGRAMS,
      maps: {
        runq_delay: { keySize: RUNQ.keySize, valueSize: RUNQ.valueSize },
        runq_drops: { keySize: 4, valueSize: 8 },
      },
      dropsMap: 'runq_drops',
      open: {
        rodata: { runq_threshold_ns: BigInt(Math.round(opts.thresholdNs)) },
        // tp_btf keeps enqueue times in task storage and runq_start_new (new tasks), the raw_tp twins in
        // runq_start_pid: the map a set does not use shrinks to one entry.
        maxEntries: {
          runq_delay: opts.maxCgroups,
          ...(hooks === 'tp_btf' ? { runq_start_pid: 1 } : { runq_start_new: 1 }),
        },
        layouts: { hist: HIST_LAYOUT, ...RUNQ.layouts },
      },
    },
    hooks,
  );
  const map = fam.obj.map('runq_delay');
  const labels = new CgroupLabels();
  return {
    name: 'runq',
    read(): Reading[] {
      const out: Reading[] = [];
      map.forEach((k, v) => pushAll(out, decodeRunqEntry(k, v, fam.cpus, labels.of)));
      labels.sweep();
      return out;
    },
    stats: () => fam.stats(),
    close: () => fam.close(),
  };
}

/** Registry entry: name, bpf flag and signals from the descriptor (spec/), and how to start. */
export const runq: CounterFactory = {
  ...entryFields(spec),
  start(ctx) {
    return startRunq(ctx.objDir, {
      thresholdNs: parseDuration(ctx.config.counters.runq_threshold) * 1e6,
      maxCgroups: ctx.config.counters.max_cgroups,
    });
  },
};

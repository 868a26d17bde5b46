/**
 * The lifecycle shared by the BPF counter families: choose hooks (tp_btf, else the raw_tp twins), open with knobs,
 * map sizes and layout checks, check every map's key/value size against the decoder's constants, attach, and
 * report stats. Each family module adds only its knobs and its decoders.
 */
import { join } from 'node:path';
import { TriplineError } from '../../errors.ts';
import { openObject, possibleCpus, type BpfObject, type OpenOptions } from '../libbpf.ts';
import { features } from '../features.ts';
import { chooseHooks, disabledPrograms, type HookKind } from '../hooks.ts';
import type { FamilyStats, Reading } from './types.ts';
import { sumPerCpu } from '../decode/percpu.ts';

// The twin choice lives in ../hooks.ts (shared with the deep probes); re-exported for the family modules.
export { chooseHooks, type HookKind } from '../hooks.ts';

export interface BpfFamilySpec {
  /** Object stem, equal to the family's registry key: build/bpf/counters/<stem>.bpf.o, header bpf/counters/<stem>.h, decoder src/probes/decode/<stem>.ts. */
  readonly stem: string;
  /** tp_btf program names; each has a `<name>_raw` twin in the object. */
  readonly programs: readonly string[];
  /** Map name → expected key and value size (bytes, per CPU for per-CPU maps), checked after load. */
  readonly maps: Readonly<Record<string, { readonly keySize: number; readonly valueSize: number }>>;
  /** Per-CPU array of one __u64 counting lost events. */
  readonly dropsMap: string;
  readonly open: Omit<OpenOptions, 'disable'> & { readonly disable?: readonly string[] };
}

/** A loaded and attached family object with its shared reads. */
export interface BpfFamily {
  readonly obj: BpfObject;
  readonly hooks: HookKind;
  readonly cpus: number;
  stats(): FamilyStats;
  close(): void;
}

/** Opens, loads, checks and attaches a family's object. Errors are TriplineErrors from the binding, with hints. */
export function startBpfFamily(
  objDir: string,
  spec: BpfFamilySpec,
  hooks: HookKind = chooseHooks(features(objDir), spec.stem),
): BpfFamily {
  const obj = openObject(join(objDir, 'counters', `${spec.stem}.bpf.o`), {
    ...spec.open,
    disable: [...disabledPrograms(spec.programs, hooks), ...(spec.open.disable ?? [])],
  });
  try {
    for (const [name, want] of Object.entries(spec.maps)) {
      const m = obj.map(name);
      if (m.keySize !== want.keySize || m.valueSize !== want.valueSize) {
        throw new TriplineError(
          'PROBE_ERR_LAYOUT',
          `${obj.path}: map ${name} has key ${m.keySize} / value ${m.valueSize} bytes, the decoder expects ${want.keySize} / ${want.valueSize}`,
          {
            hint: `update bpf/counters/${spec.stem}.h and src/probes/decode/${spec.stem}.ts together, then rebuild (scripts/build-bpf)`,
          },
        );
      }
    }
    obj.attachAll();
  } catch (err) {
    obj.close();
    throw err;
  }
  const cpus = possibleCpus();
  const drops = obj.map(spec.dropsMap);
  const zero = Buffer.alloc(4);
  return {
    obj,
    hooks,
    cpus,
    stats() {
      const st = obj.programStats();
      const v = drops.lookup(zero);
      return {
        programs: st.length,
        dropped: v ? sumPerCpu(v, 8, cpus, `${spec.dropsMap} value`)[0] : 0,
        runTimeNs: st.reduce((a, s) => a + s.runTimeNs, 0),
        runCount: st.reduce((a, s) => a + s.runCount, 0),
      };
    },
    close() {
      obj.close();
    },
  };
}

/** Appends a decoder's readings (no spread: a map read has thousands of entries). */
export function pushAll(out: Reading[], xs: readonly Reading[]): void {
  for (const x of xs) out.push(x);
}

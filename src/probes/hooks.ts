/**
 * The tp_btf / raw_tp twin choice, one rule for counter families and deep probes alike. Every tracepoint program
 * `<name>` is compiled twice: as tp_btf (BTF-typed arguments, Linux 5.5+) and as the raw_tp twin `<name>_raw`
 * (Linux 4.17+). Exactly one set loads: tp_btf when the kernel takes it (and has whatever else that set needs),
 * else the twins; the other set is switched off before load, so it never reaches the verifier.
 */
import { TriplineError } from '../errors.ts';
import type { Feature, Features } from './features.ts';

/** Which program set runs: `tp_btf` (BTF-typed arguments) or `raw_tp` (the `<name>_raw` twins). */
export type HookKind = 'tp_btf' | 'raw_tp';

/** Suffix of a tp_btf program's raw_tp twin in the same object. */
export const RAW_TWIN_SUFFIX = '_raw';

/** Features a tp_btf set may need beyond tp_btf itself (e.g. runq keeps per-task state in task storage). */
export type TpBtfNeed = Exclude<keyof Features, 'tpBtf' | 'rawTp'>;

/**
 * Picks tp_btf when the kernel loads it and every feature in `tpBtfNeeds` is there, else raw_tp; throws
 * PROBE_ERR_UNSUPPORTED (naming `part` and both reasons) when neither set can run.
 */
export function chooseHooks(
  f: Pick<Features, 'tpBtf' | 'rawTp'> & Partial<Features>,
  part: string,
  tpBtfNeeds: readonly TpBtfNeed[] = [],
): HookKind {
  let tpBtf: Feature = f.tpBtf;
  for (const need of tpBtfNeeds) {
    const have = f[need];
    if (tpBtf.ok && !have?.ok) tpBtf = { ok: false, reason: `${need}: ${have?.reason ?? 'not detected'}` };
  }
  if (tpBtf.ok) return 'tp_btf';
  if (f.rawTp.ok) return 'raw_tp';
  throw new TriplineError(
    'PROBE_ERR_UNSUPPORTED',
    `${part}: neither tp_btf (${tpBtf.reason}) nor raw_tp (${f.rawTp.reason}) programs load here`,
    {
      hint: 'run `tripline probes` to see what this kernel offers; tp_btf needs Linux 5.5+ with BTF, raw_tp 4.17+',
    },
  );
}

/** Programs to switch off for a hook kind, given the tp_btf program names: the twins of the set not chosen. */
export function disabledPrograms(tpBtfPrograms: readonly string[], hooks: HookKind): string[] {
  return hooks === 'tp_btf' ? tpBtfPrograms.map((p) => `${p}${RAW_TWIN_SUFFIX}`) : [...tpBtfPrograms];
}

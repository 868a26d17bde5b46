/** Opens a deep probe's object: picks the tp_btf programs or their raw_tp twins by feature probe, then loads. */
import { join } from 'node:path';
import { features } from '../features.ts';
import { chooseHooks, disabledPrograms, type TpBtfNeed } from '../hooks.ts';
import { openObject, type BpfObject, type OpenOptions } from '../libbpf.ts';
import { DEEP_TARGET_LAYOUT } from './target-map.ts';
import type { ProbeContext } from './types.ts';

/** Names of the tp_btf programs of a probe and their raw_tp twins (`<name>_raw`). */
export interface Twins {
  readonly tpBtf: readonly string[];
  /** Features the tp_btf set needs beyond tp_btf (without them the twins run). */
  readonly tpBtfNeeds?: readonly TpBtfNeed[];
}

/**
 * Opens `<objDir>/deep/<stem>.bpf.o` with the shared target layout checked. With `twins`, loads the tp_btf programs
 * or their `_raw` twins as `chooseHooks` (../hooks.ts) decides; the other set is never loaded.
 */
export function openProbeObject(
  ctx: ProbeContext,
  stem: string,
  opts: OpenOptions & { twins?: Twins } = {},
): BpfObject {
  const disable = [...(opts.disable ?? [])];
  if (opts.twins) {
    const hooks = chooseHooks(features(ctx.objDir), stem, opts.twins.tpBtfNeeds);
    disable.push(...disabledPrograms(opts.twins.tpBtf, hooks));
  }
  return openObject(join(ctx.objDir, 'deep', `${stem}.bpf.o`), {
    ...opts,
    disable,
    layouts: { ...DEEP_TARGET_LAYOUT, ...(opts.layouts ?? {}) },
  });
}

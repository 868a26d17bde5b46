/** Opens a deep probe's object: picks the tp_btf programs or their raw_tp twins by feature probe, then loads. */
import { join } from 'node:path';
import { TriplineError } from '../../errors.ts';
import { features } from '../features.ts';
import { openObject, type BpfObject, type OpenOptions } from '../libbpf.ts';
import { DEEP_TARGET_LAYOUT } from './target-map.ts';
import type { ProbeContext } from './types.ts';

/** Names of the tp_btf programs of a probe and their raw_tp twins (`<name>_raw`). */
export interface Twins {
  readonly tpBtf: readonly string[];
  /** The tp_btf set keeps per-task state in task storage (kernel 5.11+): without it the raw_tp twins run. */
  readonly taskStorage?: boolean;
}

/**
 * Opens `<objDir>/deep/<stem>.bpf.o` with the shared target layout checked. With `twins`, loads the tp_btf programs
 * when the kernel supports them and the `_raw` twins otherwise (the other set is never loaded).
 */
export function openProbeObject(
  ctx: ProbeContext,
  stem: string,
  opts: OpenOptions & { twins?: Twins } = {},
): BpfObject {
  const disable = [...(opts.disable ?? [])];
  if (opts.twins) {
    const f = features(ctx.objDir);
    const tpBtf =
      opts.twins.taskStorage && !f.taskStorage.ok
        ? { ok: false, reason: `task storage: ${f.taskStorage.reason}` }
        : f.tpBtf;
    if (tpBtf.ok) disable.push(...opts.twins.tpBtf.map((n) => `${n}_raw`));
    else if (f.rawTp.ok) disable.push(...opts.twins.tpBtf);
    else {
      throw new TriplineError(
        'PROBE_ERR_UNSUPPORTED',
        `${stem}: neither tp_btf (${tpBtf.reason}) nor raw_tp (${f.rawTp.reason}) programs load here`,
        {
          hint: 'needs a kernel with BPF raw tracepoints (4.17+); see `tripline probes`',
        },
      );
    }
  }
  return openObject(join(ctx.objDir, 'deep', `${stem}.bpf.o`), {
    ...opts,
    disable,
    layouts: { ...DEEP_TARGET_LAYOUT, ...(opts.layouts ?? {}) },
  });
}

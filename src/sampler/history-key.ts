/** What a sample contributes to the per-cgroup history: key → value (pure). */
import type { Sample } from '../samples.ts';
import { CGROUP_LABELS } from '../signals.ts';

const CG = new Set<string>(CGROUP_LABELS);
const extraCache = new WeakMap<object, string>();
// `<signal>_count` / `<signal>_sum`, built once per signal rather than per sample.
const histNames = new Map<string, [string, string]>();

/**
 * Calls `put` with the history entries of a sample: counters give their delta, gauges their value, histograms
 * `<signal>_count` and `<signal>_sum` deltas (bucket deltas would cost 16× the memory). Non-cgroup labels go into
 * the key: `x{syscall="read"}`.
 */
export function historyEntries(s: Sample, put: (key: string, value: number) => void): void {
  let extra = extraCache.get(s.labels);
  if (extra === undefined) {
    extra = '';
    for (const k in s.labels) if (!CG.has(k)) extra += `${extra ? ',' : ''}${k}=${JSON.stringify(s.labels[k])}`;
    // The sampler shares one frozen labels object per cgroup: compute its suffix once.
    if (Object.isFrozen(s.labels)) extraCache.set(s.labels, extra);
  }
  if (s.kind === 'counter') put(extra ? `${s.signal}{${extra}}` : s.signal, s.delta);
  else if (s.kind === 'gauge') put(extra ? `${s.signal}{${extra}}` : s.signal, s.value);
  else if (extra) {
    put(`${s.signal}_count{${extra}}`, s.countDelta);
    put(`${s.signal}_sum{${extra}}`, s.sumDelta);
  } else {
    let names = histNames.get(s.signal);
    if (!names) histNames.set(s.signal, (names = [`${s.signal}_count`, `${s.signal}_sum`]));
    put(names[0], s.countDelta);
    put(names[1], s.sumDelta);
  }
}

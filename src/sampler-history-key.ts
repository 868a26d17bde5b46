/** What a sample contributes to the per-cgroup history: key → value (pure). */
import type { Sample } from './samples.ts';
import { CGROUP_LABELS } from './signals.ts';

const CG = new Set<string>(CGROUP_LABELS);

/**
 * History entries of a sample: counters give their delta, gauges their value, histograms `<signal>_count` and
 * `<signal>_sum` deltas (bucket deltas would cost 16× the memory). Non-cgroup labels go into the key: `x{syscall="read"}`.
 */
export function historyKey(s: Sample): [string, number][] {
  let extra = '';
  for (const k in s.labels) if (!CG.has(k)) extra += `${extra ? ',' : ''}${k}=${JSON.stringify(s.labels[k])}`;
  const suffix = extra ? `{${extra}}` : '';
  if (s.kind === 'counter') return [[s.signal + suffix, s.delta]];
  if (s.kind === 'gauge') return [[s.signal + suffix, s.value]];
  return [[`${s.signal}_count${suffix}`, s.countDelta], [`${s.signal}_sum${suffix}`, s.sumDelta]];
}

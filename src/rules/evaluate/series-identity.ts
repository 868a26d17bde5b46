/**
 * Which samples are one series for the rules' windows. A per-cgroup series is its cgroup id (and the signal's own
 * labels), not its names: names that reach a cgroup after its first samples must not start another series.
 */
import type { Labels } from '../../samples.ts';
import { seriesKey } from '../../samples.ts';
import { CGROUP_NAME_LABELS } from '../../signals.ts';

/**
 * The identity of a series: for a per-cgroup series (non-empty `cgroup_id`) the signal, the id and the signal's own
 * labels, without the cgroup's descriptive labels (path, runtime ids, names), so names that arrive later update the
 * window in place instead of starting another series (and, through its group, another incident). Other series: all
 * their labels (seriesKey).
 */
export function identityKey(signal: string, labels: Labels): string {
  if (!labels.cgroup_id) return seriesKey(signal, labels);
  const keys = Object.keys(labels)
    .filter((k) => !CGROUP_NAME_LABELS.has(k))
    .sort();
  return `${signal}{${keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;
}

/**
 * Whom a capture of a host-wide trip aims at. A series without a cgroup (syscall latency per syscall, block I/O
 * latency per disk) has no offender of its own; its signal's per-cgroup twin (`twin` in the family descriptor, a
 * counter of what each cgroup contributed: slow file syscalls, bytes issued) names the top contributors during the incident's window, and the
 * capture scopes its deep probes to them. When no cgroup contributed measurably, or the signal has no twin, the
 * capture runs host-wide within its budget. Pure: the twin's per-cgroup totals come from a `ContributionSource`
 * (the sampler's history in the engine, the input series in `tripline test`).
 */
import type { Incident } from '../incident.ts';
import type { Rule } from './types.ts';
import { signalSpec } from '../signals.ts';
import { leavesOf } from './evaluate/groups.ts';
import type { Contribution } from '../sampler/history.ts';

/** At most this many contributors per capture: the deep probes' cgroup filter holds 8 (bpf/deep_target.h DEEP_MAX_CGROUPS). */
export const MAX_TOP = 8;
/** Contributors when the rule sets no `capture.top`. */
export const DEFAULT_TOP = 3;
/** A cgroup below this share of the window's total did not contribute measurably. */
export const MIN_SHARE = 0.05;

export type { Contribution };

/** A chosen contributor: its total and its share of every cgroup's total (0..1). */
export interface Contributor extends Contribution {
  readonly share: number;
  /** The cgroup's names (`shop/web-… (Deployment shop/web), container app`, a systemd unit) when known. */
  readonly name?: string;
}

/** Per-cgroup totals of a twin signal with points in [sinceMs, untilMs]. */
export type ContributionSource = (twin: string, sinceMs: number, untilMs: number) => readonly Contribution[];

/** What a capture aims at: the incident's own target, the top contributors of a host-wide signal, or the host. */
export type CaptureScope =
  | { readonly kind: 'target' }
  | {
      readonly kind: 'contributors';
      readonly signal: string;
      readonly twin: string;
      readonly sinceMs: number;
      readonly untilMs: number;
      readonly contributors: readonly Contributor[];
    }
  | { readonly kind: 'host'; readonly signal?: string; readonly reason: string };

/**
 * The root cgroup covers every task: never a contributor, though what it did counts in the total. (A cgroup whose
 * path is unknown, '', is not the root: its id still scopes the probes.)
 */
const isRoot = (c: Contribution): boolean => c.cgroup === '/';

/** The `top` largest contributors with at least `minShare` of the total, largest first (ties by cgroup id). */
export function rankContributors(all: readonly Contribution[], top: number, minShare = MIN_SHARE): Contributor[] {
  // Ids become kernel filter keys: decimal inode numbers only.
  const valid = all.filter((c) => Number.isFinite(c.value) && c.value > 0 && /^\d{1,20}$/.test(c.cgroupId));
  const total = valid.reduce((a, c) => a + c.value, 0);
  if (total <= 0) return [];
  return valid
    .filter((c) => !isRoot(c) && c.value / total >= minShare)
    .sort((a, b) => b.value - a.value || a.cgroupId.localeCompare(b.cgroupId))
    .slice(0, Math.max(0, Math.min(top, MAX_TOP)))
    .map((c) => Object.freeze({ ...c, share: c.value / total }));
}

/** The first signal a rule reads that has a per-cgroup twin, with the twin's name. */
export function twinOf(rule: Pick<Rule, 'when'>): { signal: string; twin: string } | undefined {
  for (const c of leavesOf(rule.when)) {
    const twin = signalSpec(c.signal)?.twin;
    if (twin) return { signal: c.signal, twin };
  }
  return undefined;
}

/** The incident's window: from its condition's first true minus the longest condition window, to the trip. */
export function incidentWindow(
  rule: Pick<Rule, 'when'>,
  inc: Pick<Incident, 'startsAt' | 'firedAt'>,
): [number, number] {
  const until = Date.parse(inc.firedAt);
  const starts = Date.parse(inc.startsAt);
  const windowMs = Math.max(0, ...leavesOf(rule.when).map((c) => c.windowMs));
  return [(Number.isFinite(starts) ? Math.min(starts, until) : until) - windowMs, until];
}

/** The scope of a capture of `inc`: see the module comment. */
export function captureScope(
  rule: Pick<Rule, 'when' | 'capture'>,
  inc: Pick<Incident, 'target' | 'startsAt' | 'firedAt'>,
  source?: ContributionSource,
): CaptureScope {
  const t = inc.target;
  if ((t.cgroupId !== undefined && t.cgroupId !== '') || (t.pids ?? []).length > 0) return { kind: 'target' };
  const tw = twinOf(rule);
  if (!tw) return { kind: 'host', reason: 'the series has no cgroup and its signal no per-cgroup twin' };
  if (!source) return { kind: 'host', signal: tw.signal, reason: `no history of ${tw.twin} to rank cgroups by` };
  const [sinceMs, untilMs] = incidentWindow(rule, inc);
  const contributors = rankContributors(source(tw.twin, sinceMs, untilMs), rule.capture?.top ?? DEFAULT_TOP);
  if (contributors.length === 0)
    return {
      kind: 'host',
      signal: tw.signal,
      reason: `no cgroup contributed measurably (>= ${MIN_SHARE * 100}% of ${tw.twin}) during the window`,
    };
  return { kind: 'contributors', ...tw, sinceMs, untilMs, contributors };
}

/** One line saying whom the capture aimed at (bundle headline, manifest). */
export function describeScope(scope: CaptureScope): string {
  if (scope.kind === 'target') return 'captured the incident’s own cgroup/pids';
  if (scope.kind === 'host') return `captured host-wide: ${scope.reason}`;
  const list = scope.contributors
    .map((c) => {
      const where = c.cgroup || `cgroup id ${c.cgroupId}`;
      return c.name
        ? `${c.name} [${where}] (${(c.share * 100).toFixed(0)}%)`
        : `${where} (${(c.share * 100).toFixed(0)}%)`;
    })
    .join(', ');
  const n = scope.contributors.length;
  return `captured the top ${n === 1 ? 'contributor' : `${n} contributors`} of ${scope.signal} (by ${scope.twin}): ${list}`;
}

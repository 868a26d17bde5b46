/**
 * Whom a capture's probes aim at: the incident's cgroup/pids, or — for a trip of a series without a cgroup — the top
 * contributors of its signal's per-cgroup twin, or the whole host (src/rules/contributors.ts decides which, from the
 * sampler's history), as a probe target the deep probes' filter takes (bpf/deep_target.h).
 */
import { TriplineError } from '../errors.ts';
import type { Incident, IncidentTarget } from '../incident.ts';
import type { ProbeTarget } from '../probes/deep/types.ts';
import type { Rule } from '../rules/types.ts';
import { captureScope, describeScope, type CaptureScope, type ContributionSource } from '../rules/contributors.ts';
import type { BundleScope } from '../bundle/writer.ts';
import type { Findings } from '../bundle/types.ts';

/** The incident target as a probe target; CAPTURE_ERR_TARGET when it names neither a cgroup id nor pids. */
export function probeTarget(t: IncidentTarget | undefined): ProbeTarget {
  const pids = (t?.pids ?? []).filter((p) => Number.isInteger(p) && p > 0);
  let cgroupId: bigint | undefined;
  if (t?.cgroupId !== undefined && t.cgroupId !== '') {
    if (!/^\d+$/.test(t.cgroupId))
      throw new TriplineError(
        'CAPTURE_ERR_TARGET',
        `cgroup id ${JSON.stringify(t.cgroupId)} is not a decimal inode number`,
        { hint: 'the target cgroup id is the inode of the cgroup directory (stat -c %i DIR)' },
      );
    cgroupId = BigInt(t.cgroupId);
  }
  if (cgroupId === undefined && pids.length === 0) {
    throw new TriplineError('CAPTURE_ERR_TARGET', 'the capture target names neither a cgroup id nor a pid', {
      hint: 'group the rule by cgroup (group_by: [cgroup, cgroup_id]) or pass --cgroup / --pid',
    });
  }
  return {
    ...(cgroupId !== undefined ? { cgroupId } : {}),
    ...(t?.cgroupPath ? { cgroupPath: t.cgroupPath } : {}),
    ...(pids.length ? { pids } : {}),
  };
}

/** A capture's scope and the probe target it makes. */
export interface ResolvedTarget {
  readonly scope: CaptureScope;
  readonly target: ProbeTarget;
}

/**
 * The scope and probe target of a capture: an incident of a rule without cgroup or pids gets its top contributors
 * (from `contributions`) or the host; anything else its own target (CAPTURE_ERR_TARGET when it has none).
 */
export function resolveTarget(
  req: {
    readonly incident?: Incident;
    readonly rule?: Rule;
    readonly target?: IncidentTarget;
    readonly hostWide?: boolean;
  },
  contributions?: ContributionSource,
  nameOf?: (cgroupPath: string) => string,
): ResolvedTarget {
  if (req.hostWide)
    return { scope: { kind: 'host', reason: 'a node-level capture was requested' }, target: { hostWide: true } };
  if (req.incident && req.rule) {
    let scope = captureScope(req.rule, req.incident, contributions);
    if (scope.kind === 'contributors' && nameOf) {
      const named = scope.contributors.map((c) => {
        const name = c.cgroup ? nameOf(c.cgroup) : '';
        return name ? { ...c, name } : c;
      });
      scope = { ...scope, contributors: named };
    }
    if (scope.kind === 'contributors')
      return { scope, target: { cgroupIds: scope.contributors.map((c) => BigInt(c.cgroupId)) } };
    if (scope.kind === 'host') return { scope, target: { hostWide: true } };
  }
  return { scope: { kind: 'target' }, target: probeTarget(req.incident?.target ?? req.target) };
}

/** The key a capture runs under (one capture per key): given, the incident's, or `manual:<cgroup>:<pids>`. */
export function captureKey(req: {
  readonly key?: string;
  readonly incident?: Incident;
  readonly target?: IncidentTarget;
}): string {
  const t = req.incident?.target ?? req.target;
  return req.key ?? req.incident?.key ?? `manual:${t?.cgroupId ?? t?.cgroupPath ?? ''}:${(t?.pids ?? []).join(',')}`;
}

/** The cgroups a capture aims at (the offenders a trip puts on the syscall watch list); none for host-wide. */
export function offenderIds(target: ProbeTarget): bigint[] {
  return [...(target.cgroupId !== undefined ? [target.cgroupId] : []), ...(target.cgroupIds ?? [])];
}

/** The scope as the bundle's manifest records it (total and share of each contributor, the window in ms). */
export function bundleScope(scope: CaptureScope): BundleScope {
  const summary = describeScope(scope);
  if (scope.kind === 'contributors')
    return {
      kind: 'contributors',
      summary,
      signal: scope.signal,
      twin: scope.twin,
      sinceMs: scope.sinceMs,
      untilMs: scope.untilMs,
      contributors: scope.contributors.map((c) => ({ ...c })),
    };
  return { kind: scope.kind, summary, ...(scope.kind === 'host' && scope.signal ? { signal: scope.signal } : {}) };
}

/** Findings that say first whom a host-wide trip's capture aimed at: the contributors with their shares, or the host. */
export function withScope(findings: Findings, scope: CaptureScope): Findings {
  return scope.kind === 'target' ? findings : { ...findings, headlines: [describeScope(scope), ...findings.headlines] };
}

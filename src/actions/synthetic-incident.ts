/**
 * The synthetic incident of `tripline actions fire`: a firing incident of a rule, marked `test: true`, with the
 * labels the operator gave, and a diagnosis (limit-bound unless `cause=...` says otherwise) so the scale
 * action's decision runs as it would for a real trip. No capture runs: the bundle reference says so.
 */
import { createHash } from 'node:crypto';
import { TriplineError } from '../errors.ts';
import { incidentKey, keyLabels, type Incident } from '../incident.ts';
import { CAUSES, type BundleRef, type Cause } from '../bundle/types.ts';
import type { Condition, ConditionTree, Rule } from '../rules/types.ts';

function firstCondition(t: ConditionTree): Condition | undefined {
  if ('all' in t) {
    for (const c of t.all) {
      const f = firstCondition(c);
      if (f) return f;
    }
    return undefined;
  }
  if ('any' in t) {
    for (const c of t.any) {
      const f = firstCondition(c);
      if (f) return f;
    }
    return undefined;
  }
  return t;
}

/**
 * Builds the test incident and its bundle reference. A `test` label holding `runId` keeps its key apart from
 * real incidents (a test never suppresses a real trip through the dedup window) and makes each fire a new delivery.
 */
export function syntheticIncident(
  rule: Rule,
  given: Readonly<Record<string, string>>,
  runId: string,
  host: string,
  now = Date.now(),
): { incident: Incident; bundle: BundleRef } {
  const { cause: causeText, ...rest } = given;
  const cause = (causeText ?? 'limit-bound') as Cause;
  if (!CAUSES.includes(cause))
    throw new TriplineError('CLI_ERR_USAGE', `--label cause=${causeText}: not a diagnosis`, {
      hint: `use one of ${CAUSES.join(', ')}`,
    });
  const labels: Record<string, string> = { ...rule.labels, ...rest, test: runId };
  // Keyed like a real trip: host-free for a pod, with the host otherwise (src/incident.ts keyLabels).
  const key = incidentKey(rule.name, keyLabels(labels, labels, host));
  const cond = firstCondition(rule.when);
  const threshold = cond?.threshold ?? 0;
  // A value past the threshold in the condition's direction, as a trip would show.
  const value = cond?.op === 'below' ? threshold / 2 : threshold === 0 ? 1 : threshold * 1.5;
  const at = new Date(now).toISOString();
  const pod =
    labels.pod_uid || labels.pod
      ? { uid: labels.pod_uid ?? '', name: labels.pod, namespace: labels.namespace }
      : undefined;
  const incident: Incident = {
    id: `${createHash('sha256').update(key).digest('hex').slice(0, 12)}-${now}`,
    key,
    rule: rule.name,
    status: 'firing',
    severity: rule.severity,
    labels,
    annotations: {
      summary: `[test] ${rule.name} fired by \`tripline actions fire\``,
      description: rule.description ?? '',
    },
    target: {
      cgroupPath: labels.cgroup,
      container: labels.container,
      workload: labels.workload,
      ...(pod ? { pod } : {}),
    },
    value,
    threshold,
    unit: '',
    stats: {},
    startsAt: at,
    firedAt: at,
    test: true,
    host,
  };
  const stamp = at.replace(/[-:]/g, '').slice(0, 15);
  const bundle: BundleRef = {
    id: `${stamp}-${rule.name}-00000000`,
    dir: '',
    tarball: '',
    partial: true,
    findings: {
      diagnosis: {
        cause,
        summary: `test incident: diagnosis set to ${cause} by tripline actions fire`,
        evidence: { test: 'true' },
      },
      headlines: ['Test incident from `tripline actions fire`: no capture ran.'],
      neighbours: [],
      topOnCpu: [],
      topOffCpu: [],
      slowSyscalls: [],
      slowQueries: [],
      shifts: {},
    },
  };
  return { incident, bundle };
}

/**
 * Which of tripline's own firing incidents an alert's capture joins: the newest one (records come newest first)
 * of the same target, its own rule's (not another requested capture's). A pod matches by namespace and name (and
 * container when the alert names one), a container by runtime id, a cgroup by path, a pid by its pids; a node-level
 * alert joins nothing (a node has many incidents).
 */
import type { CaptureTargetSpec } from '../capture/request-schema.ts';
import type { IncidentRecord } from '../incident-log.ts';
import { targetMatches } from '../capture/request-target.ts';

/** The firing record an alert of `target` joins, if any. */
export function findJoin(records: readonly IncidentRecord[], target: CaptureTargetSpec): IncidentRecord | undefined {
  return records.find(
    (r) => r.status === 'firing' && !r.incident.labels.requested_by && targetMatches(target, r.incident.target),
  );
}

/**
 * An incident's lifecycle as OTLP log records (pure): one record when it fires, when its capture is done (or
 * failed), when each action job settles, and when it resolves. Attributes follow the OpenTelemetry semantic
 * conventions where one exists (`k8s.namespace.name`, `k8s.pod.name`, `container.id`, …) and are `tripline.*`
 * otherwise; the body is the incident's summary line. Values are bounded (strings cut at 1,024 characters, at most
 * 32 series labels) since labels and annotations come from rules and monitored workloads.
 */
import { SeverityNumber, type Attributes, type LogRecord } from '@opentelemetry/api';
import type { Incident } from '../incident.ts';
import { targetName } from '../incident.ts';
import type { IncidentReport } from '../pipeline/events.ts';
import type { JobSettled } from '../actions/queue.ts';

/** The lifecycle events exported, as `event.name` (and `tripline.event`). */
export const OTLP_EVENTS = ['incident.firing', 'incident.capture', 'incident.action', 'incident.resolved'] as const;
export type OtlpEvent = (typeof OTLP_EVENTS)[number];

const MAX_STRING = 1024;
const MAX_LABELS = 32;

const cut = (s: string): string => (s.length > MAX_STRING ? `${s.slice(0, MAX_STRING - 1)}…` : s);

/** The severity of an incident's records: its rule's severity; a resolve is INFO. */
function severity(inc: Incident): { severityNumber: SeverityNumber; severityText: string } {
  if (inc.status === 'resolved') return { severityNumber: SeverityNumber.INFO, severityText: 'INFO' };
  if (inc.severity === 'critical') return { severityNumber: SeverityNumber.ERROR, severityText: 'ERROR' };
  if (inc.severity === 'warning') return { severityNumber: SeverityNumber.WARN, severityText: 'WARN' };
  return { severityNumber: SeverityNumber.INFO, severityText: 'INFO' };
}

/** Attributes every record of an incident carries. */
function incidentAttributes(inc: Incident, event: OtlpEvent): Attributes {
  const t = inc.target;
  const a: Attributes = {
    'event.name': event,
    'tripline.event': event,
    'tripline.incident.id': cut(inc.id),
    'tripline.incident.key': cut(inc.key),
    'tripline.incident.status': inc.status,
    'tripline.rule': cut(inc.rule),
    'tripline.severity': inc.severity,
    'tripline.value': inc.value,
    'tripline.threshold': inc.threshold,
    'tripline.unit': cut(inc.unit),
    'tripline.started_at': inc.startsAt,
    'tripline.fired_at': inc.firedAt,
    'host.name': cut(inc.host),
  };
  if (inc.resolvedAt) a['tripline.resolved_at'] = inc.resolvedAt;
  if (inc.test) a['tripline.test'] = true;
  if (t.cgroupPath) a['tripline.cgroup'] = cut(t.cgroupPath);
  if (t.cgroupId) a['tripline.cgroup_id'] = t.cgroupId;
  if (t.pod?.namespace) a['k8s.namespace.name'] = cut(t.pod.namespace);
  if (t.pod?.name) a['k8s.pod.name'] = cut(t.pod.name);
  if (t.pod?.uid) a['k8s.pod.uid'] = cut(t.pod.uid);
  if (t.container) a['k8s.container.name'] = cut(t.container);
  if (t.containerId) a['container.id'] = cut(t.containerId);
  if (t.workload) a['tripline.workload'] = cut(t.workload);
  const name = targetName(t);
  if (name) a['tripline.target'] = cut(name);
  for (const [k, v] of Object.entries(inc.labels).slice(0, MAX_LABELS)) a[`tripline.label.${cut(k)}`] = cut(String(v));
  return a;
}

/** The body: the summary annotation, else `rule status on target`. */
function body(inc: Incident, tail = ''): string {
  const summary = inc.annotations.summary;
  const base = summary
    ? summary
    : `${inc.rule} ${inc.status}${targetName(inc.target) ? ` on ${targetName(inc.target)}` : ''}`;
  return cut(tail ? `${base} (${tail})` : base);
}

/** The record of one report, or undefined when the report is no lifecycle step (a capture starting, a repeat). */
export function reportRecord(r: IncidentReport, first: boolean, now = Date.now()): LogRecord | undefined {
  const inc = r.incident;
  if (inc.status === 'resolved') {
    // One resolve report per incident: the one that dispatches (or, without a rule, the only one).
    if (r.dispatch !== 'resolved' && r.dispatch !== undefined) return undefined;
    return {
      ...severity(inc),
      eventName: 'incident.resolved',
      timestamp: Date.parse(inc.resolvedAt ?? '') || now,
      observedTimestamp: now,
      body: body(inc, 'resolved'),
      attributes: incidentAttributes(inc, 'incident.resolved'),
    };
  }
  if (r.capture === 'done' || r.capture === 'failed') {
    const a = incidentAttributes(inc, 'incident.capture');
    a['tripline.capture.state'] = r.capture;
    if (r.bundle) {
      a['tripline.bundle.id'] = cut(r.bundle.id);
      a['tripline.bundle.dir'] = cut(r.bundle.dir);
      a['tripline.bundle.partial'] = r.bundle.partial;
      const d = r.bundle.findings?.diagnosis;
      if (d?.cause) a['tripline.diagnosis.cause'] = cut(d.cause);
      if (d?.summary) a['tripline.diagnosis.summary'] = cut(d.summary);
    }
    if (r.captureError) a['tripline.capture.error'] = cut(r.captureError);
    return {
      ...severity(inc),
      eventName: 'incident.capture',
      timestamp: now,
      observedTimestamp: now,
      body: body(inc, r.capture === 'done' ? 'capture done' : 'capture failed'),
      attributes: a,
    };
  }
  if (!first) return undefined;
  return {
    ...severity(inc),
    eventName: 'incident.firing',
    timestamp: Date.parse(inc.firedAt) || now,
    observedTimestamp: now,
    body: body(inc),
    attributes: incidentAttributes(inc, 'incident.firing'),
  };
}

/** The record of a settled action job: completed (INFO) or failed for good (ERROR). */
export function settledRecord(s: JobSettled, now = Date.now()): LogRecord {
  const inc = s.job.incident;
  const ok = s.state === 'completed';
  const a = incidentAttributes(inc, 'incident.action');
  a['tripline.action.type'] = cut(s.job.spec.type);
  a['tripline.action.event'] = s.job.event;
  a['tripline.action.job_id'] = cut(s.id);
  a['tripline.action.state'] = s.state;
  a['tripline.action.result'] = cut(s.state === 'completed' ? s.summary : s.reason);
  return {
    severityNumber: ok ? SeverityNumber.INFO : SeverityNumber.ERROR,
    severityText: ok ? 'INFO' : 'ERROR',
    eventName: 'incident.action',
    timestamp: now,
    observedTimestamp: now,
    body: body(inc, `${s.job.spec.type} ${s.job.event} ${ok ? 'completed' : 'failed'}`),
    attributes: a,
  };
}

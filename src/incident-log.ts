/**
 * The incidents the engine has seen, newest first, for `GET /api/incidents` and the demo: each with its
 * capture's bundle and its actions' outcomes. Bounded in memory; the rules' state store is what survives restarts.
 */
import type { Incident } from './incident.ts';
import type { BundleRef, Diagnosis } from './bundle/types.ts';

export interface IncidentRecord {
  readonly id: string;
  readonly key: string;
  readonly rule: string;
  status: 'firing' | 'resolved';
  incident: Incident;
  capture: 'none' | 'running' | 'done' | 'failed';
  bundle?: { readonly id: string; readonly dir: string; readonly tarball: string; readonly partial: boolean };
  diagnosis?: Diagnosis;
  captureError?: string;
  /** The version (ruleActionsHash) of the rule's actions the incident fired under, once dispatched. */
  ruleHash?: string;
  /** Action job id → latest state ("queued", "completed: posted to #ops", "failed: ..."). */
  readonly actions: Record<string, string>;
  updatedAt: string;
}

/** Incident records kept in memory by default (the network side's log). */
export const INCIDENT_LOG_MAX = 1000;

/** In-memory incident records, at most `max` (oldest dropped first). */
export class IncidentLog {
  private readonly byId = new Map<string, IncidentRecord>();
  private readonly max: number;
  constructor(max = INCIDENT_LOG_MAX) {
    this.max = max;
  }

  /** Records a firing or resolved incident (a resolve updates the record of the same id). */
  upsert(incident: Incident): IncidentRecord {
    let r = this.byId.get(incident.id);
    if (!r) {
      r = {
        id: incident.id,
        key: incident.key,
        rule: incident.rule,
        status: incident.status,
        incident,
        capture: 'none',
        actions: {},
        updatedAt: new Date().toISOString(),
      };
      this.byId.set(incident.id, r);
      if (this.byId.size > this.max) this.byId.delete(this.byId.keys().next().value!);
    } else {
      r.status = incident.status;
      r.incident = incident;
    }
    r.updatedAt = new Date().toISOString();
    return r;
  }

  get(id: string): IncidentRecord | undefined {
    return this.byId.get(id);
  }

  /** Sets the capture's result of a record. */
  captured(id: string, bundle: BundleRef | undefined, error?: string): void {
    const r = this.byId.get(id);
    if (!r) return;
    if (bundle) {
      r.capture = 'done';
      r.bundle = { id: bundle.id, dir: bundle.dir, tarball: bundle.tarball, partial: bundle.partial };
      r.diagnosis = bundle.findings.diagnosis;
    } else r.capture = error ? 'failed' : 'none';
    if (error) r.captureError = error;
    r.updatedAt = new Date().toISOString();
  }

  action(id: string, jobId: string, state: string): void {
    const r = this.byId.get(id);
    if (!r) return;
    r.actions[jobId] = state;
    r.updatedAt = new Date().toISOString();
  }

  /** Newest first, optionally only one status. */
  list(status?: 'firing' | 'resolved'): IncidentRecord[] {
    const all = [...this.byId.values()].reverse();
    return status ? all.filter((r) => r.status === status) : all;
  }
}

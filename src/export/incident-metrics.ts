/**
 * Incident metrics of the network side: `tripline_incidents_total{rule,severity,status}` counts incidents firing
 * and resolving; `tripline_incidents_firing{rule,severity}` is the incidents firing now, read from the incident log
 * at scrape time. Rule names are bounded by the loaded rules.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { IncidentLog } from '../incident-log.ts';
import type { Incident } from '../incident.ts';

/** Counts incidents on `registry`; `seen` is called once per firing and once per resolve. */
export function incidentMetrics(
  registry: Registry,
  prefix: string,
  incidents: IncidentLog,
): { seen(inc: Incident): void } {
  const total = new Counter({
    name: `${prefix}incidents_total`,
    help: 'Incidents by rule, severity and status: firing when one fires, resolved when it resolves.',
    labelNames: ['rule', 'severity', 'status'],
    registers: [registry],
  });
  new Gauge({
    name: `${prefix}incidents_firing`,
    help: 'Incidents firing now, by rule and severity.',
    labelNames: ['rule', 'severity'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of incidents.list('firing')) this.inc({ rule: r.rule, severity: r.incident.severity });
    },
  });
  return { seen: (inc) => total.inc({ rule: inc.rule, severity: inc.severity, status: inc.status }) };
}

/**
 * Incident metrics of the network side: `tripline_incidents_total{rule,status}` counts incidents firing and
 * resolving, starting at 0 for every loaded rule (so the first incident of a rule shows as an increase, not as a
 * series born at 1 that rate() and increase() cannot see); `tripline_incidents_firing{rule,severity}` is the
 * incidents firing now, read from the incident log at scrape time. Rule names are bounded by the loaded rules.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { IncidentLog } from '../incident-log.ts';
import type { Incident } from '../incident.ts';

/** Counts incidents on `registry`; `seen` is called once per firing and once per resolve. */
export function incidentMetrics(
  registry: Registry,
  prefix: string,
  incidents: IncidentLog,
): { seen(inc: Incident): void; rules(names: readonly string[]): void } {
  const total = new Counter({
    name: `${prefix}incidents_total`,
    help: 'Incidents by rule and status: firing when one fires, resolved when it resolves.',
    labelNames: ['rule', 'status'],
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
  return {
    seen: (inc) => total.inc({ rule: inc.rule, status: inc.status }),
    rules: (names) => {
      for (const rule of names) for (const status of ['firing', 'resolved']) total.inc({ rule, status }, 0);
    },
  };
}

/**
 * What follows incidents out of the network side besides their actions: the incident metrics (always, when the
 * side has a metrics registry) and the OTLP log export (when `otlp.endpoint` is set; its packages are loaded only
 * then). The network side tells them each incident report and each settled action job; none of them may throw
 * into it or hold it up.
 */
import type { Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { IncidentLog } from '../incident-log.ts';
import type { IncidentReport } from '../pipeline/events.ts';
import type { JobSettled } from '../actions/queue.ts';
import { incidentMetrics } from './incident-metrics.ts';

/** The observers of one network side, as one. */
export interface IncidentObservers {
  /** One step of an incident; `first` when it is the first report of this incident id. */
  report(r: IncidentReport, first: boolean): void;
  /** The loaded rules' names (at start and after each reload). */
  rules(names: readonly string[]): void;
  /** An action job of the incident settled. */
  settled(s: JobSettled): void;
  /** Flushes what is queued (the OTLP export) and stops. */
  stop(): Promise<void>;
}

/** Starts the observers the config asks for. Throws CONFIG_ERR_INVALID for an unreadable otlp.headers_file. */
export async function startObservers(o: {
  readonly config: Readonly<Config>;
  readonly log: Logger;
  readonly registry?: Registry;
  readonly incidents: IncidentLog;
}): Promise<IncidentObservers> {
  const { config: c, log } = o;
  const metrics = o.registry ? incidentMetrics(o.registry, c.metrics.prefix, o.incidents) : undefined;
  const endpoint = c.otlp.endpoint;
  let otlp: import('./otlp-exporter.ts').OtlpIncidentExporter | undefined;
  let records: typeof import('./otlp-records.ts') | undefined;
  if (endpoint) {
    const { OtlpIncidentExporter } = await import('./otlp-exporter.ts');
    records = await import('./otlp-records.ts');
    otlp = new OtlpIncidentExporter({
      config: { ...c.otlp, endpoint },
      host: c.host,
      log,
      registry: o.registry,
      prefix: c.metrics.prefix,
    });
    log.info({ endpoint }, 'incidents exported as OTLP log records');
  }
  const guard = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      log.warn({ err: (err as Error)?.message }, `incident ${what} not observed`);
    }
  };
  return {
    report(r, first) {
      guard('report', () => {
        const inc = r.incident;
        const resolvedOnce = inc.status === 'resolved' && (r.dispatch === 'resolved' || r.dispatch === undefined);
        if ((first && inc.status === 'firing') || resolvedOnce) metrics?.seen(inc);
        const rec = records?.reportRecord(r, first);
        if (rec) otlp!.emit(rec);
      });
    },
    rules(names) {
      guard('rules', () => metrics?.rules(names));
    },
    settled(s) {
      guard('action', () => {
        if (otlp) otlp.emit(records!.settledRecord(s));
      });
    },
    async stop() {
      await otlp?.stop();
    },
  };
}

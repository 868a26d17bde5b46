/**
 * The Alertmanager integration on the network side, wired from the network side's parts: the webhook route
 * (`POST /api/alertmanager`, on the authenticated API server), the receiver, the output, their /metrics, and the
 * join of an alert with tripline's own firing incident of the same target (src/alertmanager/join.ts).
 */
import type { Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { IncidentLog, IncidentRecord } from '../incident-log.ts';
import { actionFor, type ActionRegistry } from '../actions/registry.ts';
import type { ActionSpec } from '../rules/types.ts';
import { collected } from '../metrics/health-metrics.ts';
import type { TriplineServer } from '../server/http.ts';
import type { TriplineError } from '../errors.ts';
import { AlertmanagerOutput } from './output.ts';
import { AlertmanagerReceiver, type ActionSet, type ReceiverDeps } from './receiver.ts';
import { findJoin } from './join.ts';

export interface AlertmanagerParts {
  readonly receiver?: AlertmanagerReceiver;
  readonly output: AlertmanagerOutput;
  stop(): Promise<void>;
}

export interface MountOptions extends Pick<
  ReceiverDeps,
  'request' | 'onRequested' | 'record' | 'dispatch' | 'addRule' | 'podHere' | 'store'
> {
  readonly config: Readonly<Config>;
  readonly log: Logger;
  readonly server: TriplineServer;
  readonly incidents: IncidentLog;
  readonly registry: ActionRegistry;
  readonly metrics?: Registry;
  /** tripline's API base URL (generatorURL of posted alerts). */
  readonly baseUrl: () => string;
  /** The rule version (name, hash) of an incident's actions, as the network side keeps them. */
  readonly ruleOf: (rec: IncidentRecord) => ActionSet | undefined;
}

/** Mounts the webhook (when `receive.enabled`) and starts the output (when `url` is set). */
export function mountAlertmanager(o: MountOptions): AlertmanagerParts {
  const c = o.config.alertmanager;
  const output = new AlertmanagerOutput({ config: o.config, log: o.log, baseUrl: o.baseUrl });
  output.start();
  let receiver: AlertmanagerReceiver | undefined;
  if (c.receive.enabled) {
    const actions: ActionSpec[] = [];
    for (const [i, raw] of c.receive.actions.entries()) {
      try {
        const mod = actionFor(raw.type, o.registry);
        const spec = mod.spec.parse(raw) as ActionSpec;
        mod.check?.(spec as never, o.config, process.env);
        actions.push(spec);
      } catch (err) {
        const e = err as TriplineError;
        o.log.error(
          { action: raw.type, err: e.message, hint: e.hint },
          `alertmanager.receive.actions[${i}] (${raw.type}) cannot run with this configuration`,
        );
      }
    }
    receiver = new AlertmanagerReceiver({
      ...o,
      actions,
      joinable: (target) => {
        const rec = findJoin(o.incidents.list('firing'), target);
        const rule = rec ? o.ruleOf(rec) : undefined;
        return rec && rule ? { incident: rec.incident, rule } : undefined;
      },
    });
    const r = receiver;
    o.server.route('POST', '/api/alertmanager', (req) => r.handle(req.body));
  }
  const p = `${o.config.metrics.prefix}alertmanager_`;
  for (const m of [
    collected(
      `${p}alerts_received_total`,
      'counter',
      'Alerts of Alertmanager webhook notifications, by outcome (captured, duplicate, other_host, no_target, refused, no_capture, resolved, unknown_resolve).',
      () => Object.entries(receiver?.counts ?? {}).map(([outcome, value]) => ({ value, labels: { outcome } })),
    ),
    collected(
      `${p}posts_total`,
      'counter',
      'Posts of incidents to Alertmanager (alertmanager.url), by result (ok, failed after retries).',
      () => [
        { value: output.counts.ok, labels: { result: 'ok' } },
        { value: output.counts.failed, labels: { result: 'failed' } },
      ],
    ),
    collected(
      `${p}alerts_dropped_total`,
      'counter',
      'Alerts not posted to Alertmanager because the queue of posts waiting behind those in flight was full (firing ones are re-posted at the next refresh).',
      () => [{ value: output.counts.dropped, labels: {} }],
    ),
  ])
    o.metrics?.registerMetric(m as never);
  return {
    receiver,
    output,
    stop: async () => {
      receiver?.close();
      await output.stop();
    },
  };
}

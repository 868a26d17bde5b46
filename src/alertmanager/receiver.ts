/**
 * Alertmanager → tripline (network side): `POST /api/alertmanager` takes a webhook notification (payload v4,
 * src/alertmanager/webhook.ts) and, per alert:
 * - firing, first seen (fingerprint + startsAt, remembered in the action store across restarts; Alertmanager's
 *   repeats are dropped): its labels name a target on
 *   this host (src/alertmanager/target.ts) → the probes and time box of the first `receive.captures` entry that
 *   matches (else `receive.default`) → a capture request to the probe side (capture.request). When tripline's own
 *   incident of that target fires, the request joins it and the bundle goes to that incident's thread (an `update`
 *   of its rule's actions); otherwise the alert's incident runs `receive.actions` (a `firing` with the bundle).
 * - resolved: the alert's incident resolves (a `resolved` of `receive.actions`; a joined one is left to its rule).
 * - for another host, or naming no target: counted and ignored.
 * The alert's incident is recorded like any other (GET /api/incidents), with its bundle. A capture whose end is never
 * reported (the probe side restarted) is given up REPORT_TTL_MS after it was asked for: the alert's actions run
 * without a bundle when its incident was reported running, and the alert may capture again on its next repeat.
 */
import { createHash } from 'node:crypto';
import { parseDuration, type Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Incident } from '../incident.ts';
import type { BundleRef } from '../bundle/types.ts';
import type { CaptureReply, CaptureRequestMsg, CaptureTargetSpec } from '../capture/request-schema.ts';
import type { IncidentReport } from '../pipeline/events.ts';
import type { DispatchOptions } from '../actions/dispatcher.ts';
import type { ActionSpec } from '../rules/types.ts';
import type { ApiResponse } from '../server/router.ts';
import type { ActionStore } from '../actions/types.ts';
import { alertTarget } from './target.ts';
import { WebhookPayloadSchema, type WebhookAlert } from './webhook.ts';

/** Alerts remembered for deduplication and resolves (the oldest are forgotten first). */
const REMEMBERED = 10_000;
/** How long a capture's end report is waited for: its longest run (300 s with extensions) and its bundling, twice. */
export const REPORT_TTL_MS = 15 * 60_000;
/** How often captures waited for too long are looked for. */
const SWEEP_MS = 60_000;
/** How long a captured alert is remembered in the action store (across restarts): a day of repeats. */
const MARK_KEEP_MS = 86_400_000;

/** One version of a set of actions, as the network side keeps rules' (name, hash, actions). */
export interface ActionSet {
  readonly name: string;
  readonly hash: string;
  readonly source: { readonly file: string; readonly line: number };
  readonly actions: readonly ActionSpec[];
}

/** What the receiver uses of the network side. */
export interface ReceiverDeps {
  readonly config: Readonly<Config>;
  readonly log: Logger;
  readonly request: (r: CaptureRequestMsg) => Promise<CaptureReply>;
  readonly onRequested: (listener: (r: IncidentReport) => void) => () => void;
  /** tripline's own firing incident of this target and its rule's actions, if any. */
  readonly joinable: (target: CaptureTargetSpec) => { incident: Incident; rule: ActionSet } | undefined;
  /** Records an incident step (the alert's resolve). */
  readonly record: (r: IncidentReport) => Promise<void>;
  /** Queues `rule`'s actions for the incident. */
  readonly dispatch: (rule: ActionSet, incident: Incident, opts: DispatchOptions) => Promise<void>;
  /** Makes an action set known to the workers (they rebuild each job's actions from its name and hash). */
  readonly addRule: (rule: ActionSet) => void;
  /**
   * Whether a pod runs on this node, from the network side's pod cache once it has synced (undefined without one):
   * other nodes' pods are told apart here, before they cost the probe side a request.
   */
  readonly podHere?: (namespace: string, name: string) => boolean | undefined;
  /** `alertmanager.receive.actions`, parsed by their action modules' schemas. */
  readonly actions: readonly ActionSpec[];
  /**
   * Where captured alerts are remembered across restarts (the action store: Redis, or the file store); without it
   * only in memory, and a repeat after a restart captures once more.
   */
  readonly store?: ActionStore;
  readonly now?: () => number;
}

interface Seen {
  readonly startsAt: string;
  readonly fingerprint: string;
  /** Its key in the action store, once marked there. */
  mark?: string;
  captureId?: string;
  /** When the capture's end report is given up (REPORT_TTL_MS after the request). */
  expiresAt?: number;
  joined?: { incident: Incident; rule: ActionSet };
  /** The alert's incident, once the probe side reported it. */
  incident?: Incident;
  /** Settles when the capture is reported done or failed. */
  settled?: Promise<void>;
  settle?: () => void;
  resolved?: boolean;
}

/** Outcomes counted per alert (tripline_alertmanager_alerts_total{outcome}). */
export type AlertOutcome =
  'captured' | 'duplicate' | 'other_host' | 'no_target' | 'refused' | 'no_capture' | 'resolved' | 'unknown_resolve';

/** The webhook receiver; see the module comment. */
export class AlertmanagerReceiver {
  readonly #d: ReceiverDeps;
  readonly #seen = new Map<string, Seen>();
  readonly #byCapture = new Map<string, Seen>();
  readonly #unsubscribe: () => void;
  readonly #sweep: NodeJS.Timeout;
  /** Alerts by outcome, for /metrics. */
  readonly counts: Record<AlertOutcome, number> = {
    captured: 0,
    duplicate: 0,
    other_host: 0,
    no_target: 0,
    refused: 0,
    no_capture: 0,
    resolved: 0,
    unknown_resolve: 0,
  };

  constructor(d: ReceiverDeps) {
    this.#d = d;
    this.#unsubscribe = d.onRequested((r) => this.#onReport(r));
    this.#sweep = setInterval(() => this.#expire(), SWEEP_MS);
    this.#sweep.unref();
  }

  close(): void {
    this.#unsubscribe();
    clearInterval(this.#sweep);
  }

  /** Captures whose end report is waited for. */
  get pending(): number {
    return this.#byCapture.size;
  }

  /** The HTTP handler: 400 naming the field for a payload out of shape, else 200 with each alert's outcome. */
  async handle(body: unknown): Promise<ApiResponse> {
    const p = WebhookPayloadSchema.safeParse(body);
    if (!p.success) {
      const i = p.error.issues[0];
      return {
        status: 400,
        json: {
          error: {
            code: 'API_ERR_INVALID',
            message: `alertmanager payload: ${i?.path.join('.') || '(body)'}: ${i?.message}`,
            hint: 'point an Alertmanager webhook_configs receiver (payload version 4) at /api/alertmanager',
          },
        },
      };
    }
    this.#expire();
    const outcomes: { fingerprint: string; outcome: AlertOutcome; detail?: string; retry?: boolean }[] = [];
    for (const a of p.data.alerts) {
      const o = a.status === 'firing' ? await this.#firing(a, p.data.receiver) : await this.#resolved(a);
      this.counts[o.outcome]++;
      outcomes.push({ fingerprint: a.fingerprint, ...o });
    }
    // A capture refused for now (captures busy, requests over the rate): 503 makes Alertmanager send the
    // notification again with its backoff; the alerts already taken are dropped then as repeats.
    const retry = outcomes.some((o) => o.retry);
    return {
      status: retry ? 503 : 200,
      ...(retry ? { headers: { 'retry-after': '5' } } : {}),
      json: { alerts: outcomes },
    };
  }

  async #firing(
    a: WebhookAlert,
    receiver: string,
  ): Promise<{ outcome: AlertOutcome; detail?: string; retry?: boolean }> {
    const { config, log } = this.#d;
    const prev = this.#seen.get(a.fingerprint);
    if (prev && prev.startsAt === a.startsAt && !prev.resolved) return { outcome: 'duplicate' };
    const rc = config.alertmanager.receive;
    const t = alertTarget(a.labels, [config.host, ...rc.host_aliases]);
    if (!t.ok) {
      log.debug({ fingerprint: a.fingerprint, reason: t.reason, detail: t.detail }, 'alert not for this host');
      return { outcome: t.reason, detail: t.detail };
    }
    if (t.target.kind === 'pod' && this.#d.podHere?.(t.target.namespace, t.target.pod) === false)
      return { outcome: 'other_host', detail: `pod ${t.target.namespace}/${t.target.pod} is not on this node` };
    const plan = rc.captures.find((c) => Object.entries(c.match).every(([k, v]) => a.labels[k] === v)) ?? rc.default;
    const seen: Seen = { startsAt: a.startsAt, fingerprint: a.fingerprint };
    this.#remember(a.fingerprint, seen);
    if (plan.probes.length === 0) return { outcome: 'no_capture' };
    // Captured before this engine restarted (its memory is gone, the store's is not): a repeat. A store that does
    // not answer is not a reason to lose the capture.
    const mark = `alertmanager:seen:${config.host}:${a.fingerprint}:${a.startsAt}`;
    if (this.#d.store && !(await this.#d.store.setIfAbsent(mark, '1', MARK_KEEP_MS).catch(() => true)))
      return { outcome: 'duplicate', detail: 'captured before a restart' };
    if (this.#d.store) seen.mark = mark;
    const joined = this.#d.joinable(t.target);
    const labels = Object.fromEntries(
      Object.entries(a.labels)
        .filter(([k]) => /^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(k))
        .slice(0, 32)
        .map(([k, v]) => [k, v.slice(0, 1024)]),
    );
    const sev = a.labels.severity;
    const reply = await this.#d
      .request({
        target: t.target,
        probes: plan.probes,
        durationMs: Math.min(120_000, Math.max(1000, parseDuration(plan.duration))),
        source: {
          kind: 'alertmanager',
          id: a.fingerprint,
          ...(receiver ? { who: receiver } : {}),
          reason: `alert ${a.labels.alertname ?? ''}`.slice(0, 1024),
        },
        name: ruleName(a.labels.alertname),
        labels,
        severity: sev === 'critical' || sev === 'info' ? sev : 'warning',
        ...(a.annotations.summary ? { summary: a.annotations.summary.slice(0, 2048) } : {}),
        ...(joined ? { join: { key: joined.incident.key } } : {}),
      })
      .catch((err: Error) => ({ accepted: false as const, code: 'busy' as const, reason: err.message }));
    if (!reply.accepted) {
      log.info({ fingerprint: a.fingerprint, code: reply.code, reason: reply.reason }, 'alert capture refused');
      // A refusal is not remembered as seen: the next repeat of the alert may capture (after a busy spell).
      this.#forget(seen);
      if (reply.code === 'not_here') return { outcome: 'other_host', detail: reply.reason };
      return { outcome: 'refused', detail: reply.reason, retry: reply.code === 'busy' || reply.code === 'rate' };
    }
    seen.captureId = reply.captureId;
    seen.expiresAt = (this.#d.now ?? Date.now)() + REPORT_TTL_MS;
    seen.joined = joined;
    seen.settled = new Promise<void>((resolve) => (seen.settle = resolve));
    this.#byCapture.set(reply.captureId, seen);
    log.info(
      { fingerprint: a.fingerprint, captureId: reply.captureId, joined: joined?.incident.id, target: t.target },
      'alert capture started',
    );
    return { outcome: 'captured', detail: reply.captureId };
  }

  /** Forgets `seen` here and in the store: the alert's next repeat may capture. */
  #forget(seen: Seen): void {
    if (this.#seen.get(seen.fingerprint) === seen) this.#seen.delete(seen.fingerprint);
    if (seen.mark) void this.#d.store?.del(seen.mark).catch(() => undefined);
  }

  /** Gives up the captures whose end report did not come within REPORT_TTL_MS (oldest first: the map's order). */
  #expire(): void {
    const now = (this.#d.now ?? Date.now)();
    for (const [captureId, seen] of this.#byCapture) {
      if ((seen.expiresAt ?? 0) > now) break;
      this.#byCapture.delete(captureId);
      this.#d.log.warn(
        { fingerprint: seen.fingerprint, captureId, reported: !!seen.incident },
        'alert capture never reported done (the probe side restarted?): given up',
      );
      if (!seen.incident) {
        // Nothing of it was reported: the alert's next repeat may ask again.
        this.#forget(seen);
        seen.settle?.();
        continue;
      }
      void this.#deliver(seen, seen.incident, undefined).finally(() => seen.settle?.());
    }
  }

  async #resolved(a: WebhookAlert): Promise<{ outcome: AlertOutcome; detail?: string }> {
    const seen = this.#seen.get(a.fingerprint);
    if (!seen || seen.resolved) return { outcome: seen ? 'duplicate' : 'unknown_resolve' };
    seen.resolved = true;
    // A later firing of the same alert (same startsAt: Alertmanager saw it flap) may capture again.
    if (seen.mark) void this.#d.store?.del(seen.mark).catch(() => undefined);
    // The resolve never overtakes the capture's own report (its firing actions go first).
    void (seen.settled ?? Promise.resolve()).then(() => this.#end(seen, a));
    return { outcome: 'resolved' };
  }

  async #end(seen: Seen, a: WebhookAlert): Promise<void> {
    const inc = seen.incident;
    if (!inc) return;
    const resolvedAt = a.endsAt && !a.endsAt.startsWith('0001') ? a.endsAt : new Date().toISOString();
    const resolved: Incident = { ...inc, status: 'resolved', resolvedAt };
    try {
      await this.#d.record({ incident: resolved, capture: 'none' });
      if (!seen.joined) await this.#d.dispatch(this.#actions(inc.rule), resolved, { event: 'resolved' });
    } catch (err) {
      this.#d.log.error({ incident: inc.id, err: (err as Error)?.message }, 'alert resolve not delivered');
    }
  }

  /** A report of a capture this receiver asked for: once done or failed, its actions run with the bundle. */
  #onReport(r: IncidentReport): void {
    if (r.request?.source.kind !== 'alertmanager') return;
    const seen = this.#byCapture.get(r.request.captureId);
    if (!seen) return;
    seen.incident = r.incident;
    if (r.capture !== 'done' && r.capture !== 'failed') return;
    this.#byCapture.delete(r.request.captureId);
    void this.#deliver(seen, r.incident, r.bundle).finally(() => seen.settle?.());
  }

  async #deliver(seen: Seen, inc: Incident, bundle: BundleRef | undefined): Promise<void> {
    try {
      // A joined incident whose rule has no actions would leave the bundle nowhere: the alert's own actions then.
      if (seen.joined && seen.joined.rule.actions.length === 0) seen.joined = undefined;
      if (seen.joined)
        await this.#d.dispatch(seen.joined.rule, seen.joined.incident, {
          event: 'update',
          bundle,
          seq: `alertmanager:${inc.id}`,
        });
      else await this.#d.dispatch(this.#actions(inc.rule), inc, { event: 'firing', bundle });
    } catch (err) {
      this.#d.log.error({ incident: inc.id, err: (err as Error)?.message }, 'alert actions not queued');
    }
  }

  /** The configured actions under the alert incident's rule name (registered so the workers can rebuild jobs). */
  #actions(rule: string): ActionSet {
    const actions = this.#d.actions;
    const hash = createHash('sha256').update(JSON.stringify(actions)).digest('hex').slice(0, 16);
    const set = { name: rule, hash, source: { file: 'alertmanager.receive.actions', line: 0 }, actions };
    this.#d.addRule(set);
    return set;
  }

  #remember(fingerprint: string, s: Seen): void {
    this.#seen.delete(fingerprint);
    this.#seen.set(fingerprint, s);
    if (this.#seen.size > REMEMBERED) this.#seen.delete(this.#seen.keys().next().value!);
  }
}

/** An alert name as a rule name (a DNS label): `CPUThrottlingHigh` → `cputhrottlinghigh`. */
export function ruleName(alertname: string | undefined): string {
  const s = (alertname ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return s || 'alertmanager-capture';
}

/**
 * tripline → Alertmanager (network side): each incident tripline records is posted as an alert to every
 * `alertmanager.url` (`POST /api/v2/alerts`), so Alertmanager's routing, grouping, silences and inhibitions apply:
 * labels alertname/rule, severity, host, namespace/pod/container (when known) and the series labels; annotations
 * summary, diagnosis, bundle (id) and incident (id); startsAt the trip, endsAt `3 × refresh` ahead while firing (an
 * engine that dies leaves alerts that end by themselves), the resolve time once resolved; generatorURL the
 * incident in tripline's API. Firing alerts are re-posted every `refresh`. A post that fails is retried twice
 * (0.5 s, then 1 s) and counted; nothing waits for Alertmanager: the incident's own path never blocks on it. At
 * most MAX_IN_FLIGHT posts run at once; the others wait their turn in a queue (a refresh replaces the previous
 * refresh's posts still waiting; past MAX_QUEUED_ALERTS the oldest waiting are dropped and counted). The firing
 * incidents kept for the refresh are bounded like the incident log (INCIDENT_LOG_MAX, the oldest leave first).
 * Incidents that an Alertmanager alert started (a capture it requested) are not posted back.
 */
import { readFileSync } from 'node:fs';
import { parseDuration, type Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { targetName } from '../incident.ts';
import { INCIDENT_LOG_MAX, type IncidentRecord } from '../incident-log.ts';
import { redactUrl } from '../actions/redact.ts';
import { assertCredentialTransport } from '../actions/token-transport.ts';

/** Posts in flight at most; past it a post waits in the queue. */
const MAX_IN_FLIGHT = 64;
/** Alerts waiting in the queue at most (the oldest posts are dropped and counted past it). */
export const MAX_QUEUED_ALERTS = 10_000;
/** Alerts per post. */
const BATCH = 100;
const RETRY_MS = [500, 1000];
/** Firing incidents kept for the refresh (the oldest leave first past it): no more than the incident log holds. */
export const MAX_ACTIVE = INCIDENT_LOG_MAX;

/** A post waiting its turn. */
interface Queued {
  readonly url: string;
  readonly alerts: PostableAlert[];
  /** Part of a refresh (the next refresh replaces it). */
  readonly refresh: boolean;
}

/** One alert as Alertmanager's v2 API takes it. */
export interface PostableAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
}

const LABEL = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The alert of an incident record (pure). */
export function alertOf(rec: IncidentRecord, o: { baseUrl: string; endsAt: string }): PostableAlert {
  const inc = rec.incident;
  const t = inc.target;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(inc.labels).slice(0, 32)) if (LABEL.test(k) && v) labels[k] = v.slice(0, 1024);
  const named: Record<string, string | undefined> = {
    namespace: t.pod?.namespace,
    pod: t.pod?.name,
    container: t.container,
    workload: t.workload,
  };
  for (const [k, v] of Object.entries(named)) if (v) labels[k] = v;
  Object.assign(labels, { alertname: inc.rule, rule: inc.rule, severity: inc.severity, host: inc.host });
  const name = targetName(t);
  const annotations: Record<string, string> = {
    summary: inc.annotations.summary || `${inc.rule}${name ? ` on ${name}` : ''} (${inc.host})`,
    incident: inc.id,
  };
  if (inc.annotations.description) annotations.description = inc.annotations.description;
  if (rec.diagnosis) annotations.diagnosis = `${rec.diagnosis.cause}: ${rec.diagnosis.summary}`;
  if (rec.bundle) annotations.bundle = rec.bundle.id;
  return {
    labels,
    annotations,
    startsAt: inc.firedAt,
    endsAt: o.endsAt,
    generatorURL: `${o.baseUrl}/api/incidents/${encodeURIComponent(inc.id)}`,
  };
}

export interface OutputOptions {
  readonly config: Readonly<Config>;
  readonly log: Logger;
  /** Where tripline's API is reached (generatorURL), when `external_url` is unset. */
  readonly baseUrl: () => string;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

/** Posts incidents to Alertmanager; see the module comment. */
export class AlertmanagerOutput {
  readonly #o: OutputOptions;
  readonly #urls: readonly string[];
  readonly #active = new Map<string, IncidentRecord>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #queue: Queued[] = [];
  #queued = 0;
  #timer?: NodeJS.Timeout;
  readonly #refreshMs: number;
  /** Posts by result, alerts dropped (the queue of posts waiting full), for /metrics. */
  readonly counts = { ok: 0, failed: 0, dropped: 0 };

  constructor(o: OutputOptions) {
    this.#o = o;
    this.#urls = o.config.alertmanager.url.map((u) => u.replace(/\/+$/, ''));
    if (o.config.alertmanager.bearer_token_file)
      for (const u of this.#urls) assertCredentialTransport(u, 'alertmanager.url (with bearer_token_file)');
    this.#refreshMs = parseDuration(o.config.alertmanager.refresh);
  }

  /** Whether any Alertmanager is configured. */
  get enabled(): boolean {
    return this.#urls.length > 0;
  }

  /** Incidents posted as firing now. */
  get firing(): number {
    return this.#active.size;
  }

  start(): void {
    if (!this.enabled || this.#timer) return;
    this.#timer = setInterval(() => this.#post([...this.#active.values()], true), this.#refreshMs);
    this.#timer.unref();
  }

  /** Posts waiting their turn. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Stops the refresh and waits for the posts in flight and queued (at most `ms`). */
  async stop(ms = 5000): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    const deadline = Date.now() + ms;
    while (this.#inFlight.size > 0 && Date.now() < deadline)
      await Promise.race([
        Promise.allSettled([...this.#inFlight]),
        new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref()),
      ]);
  }

  /** An incident's record changed: posted now (firing, or resolved and forgotten). */
  observe(rec: IncidentRecord): void {
    // Test incidents and requested captures' (an alert's own, a button's) are not tripline's findings to alert on.
    if (!this.enabled || rec.incident.test || rec.incident.labels.requested_by) return;
    this.#active.delete(rec.id);
    if (rec.status === 'firing') this.#active.set(rec.id, rec);
    if (this.#active.size > MAX_ACTIVE) this.#active.delete(this.#active.keys().next().value!);
    this.#post([rec]);
  }

  #post(recs: readonly IncidentRecord[], refresh = false): void {
    if (refresh) this.#unqueue((q) => q.refresh); // the previous refresh's posts still waiting: superseded
    if (recs.length === 0) return;
    const now = (this.#o.now ?? Date.now)();
    const baseUrl = (this.#o.config.alertmanager.external_url ?? this.#o.baseUrl()).replace(/\/+$/, '');
    const alerts = recs.map((r) =>
      alertOf(r, {
        baseUrl,
        endsAt:
          r.status === 'resolved'
            ? (r.incident.resolvedAt ?? new Date(now).toISOString())
            : new Date(now + 3 * this.#refreshMs).toISOString(),
      }),
    );
    for (let i = 0; i < alerts.length; i += BATCH)
      for (const url of this.#urls) this.#send({ url, alerts: alerts.slice(i, i + BATCH), refresh });
  }

  /** Posts now, or queues behind the posts in flight (the oldest waiting dropped past MAX_QUEUED_ALERTS). */
  #send(q: Queued): void {
    if (this.#inFlight.size >= MAX_IN_FLIGHT) {
      this.#queue.push(q);
      this.#queued += q.alerts.length;
      while (this.#queued > MAX_QUEUED_ALERTS) {
        const old = this.#queue.shift()!;
        this.#queued -= old.alerts.length;
        this.counts.dropped += old.alerts.length;
      }
      return;
    }
    const p = this.#attempts(q.url, q.alerts).finally(() => {
      this.#inFlight.delete(p);
      const next = this.#queue.shift();
      if (next) {
        this.#queued -= next.alerts.length;
        this.#send(next);
      }
    });
    this.#inFlight.add(p);
  }

  /** Takes the waiting posts that `match` out of the queue. */
  #unqueue(match: (q: Queued) => boolean): void {
    const keep = this.#queue.filter((q) => !match(q));
    this.#queue.splice(0, this.#queue.length, ...keep);
    this.#queued = keep.reduce((n, q) => n + q.alerts.length, 0);
  }

  async #attempts(url: string, alerts: PostableAlert[]): Promise<void> {
    const f = this.#o.fetch ?? fetch;
    const c = this.#o.config.alertmanager;
    let last = '';
    for (let attempt = 0; attempt <= RETRY_MS.length; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, RETRY_MS[attempt - 1]));
      try {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (c.bearer_token_file) headers.authorization = `Bearer ${readFileSync(c.bearer_token_file, 'utf8').trim()}`;
        const res = await f(`${url}/api/v2/alerts`, {
          method: 'POST',
          headers,
          body: JSON.stringify(alerts),
          signal: AbortSignal.timeout(parseDuration(c.timeout)),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          this.counts.ok++;
          return;
        }
        last = `HTTP ${res.status}`;
        if (res.status >= 400 && res.status < 500 && res.status !== 429) break; // the payload is wrong: no retry
      } catch (err) {
        last = (err as Error)?.message ?? String(err);
      }
    }
    this.counts.failed++;
    this.#o.log.warn(
      { alertmanager: redactUrl(url), alerts: alerts.length, err: last },
      'alerts not posted to Alertmanager',
    );
  }
}

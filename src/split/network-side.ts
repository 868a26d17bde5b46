/**
 * The network side: everything that talks to the network — the HTTP server (/metrics, health, the authenticated
 * API), the action queue and its workers (Slack, Kubernetes, webhooks; BullMQ on Redis or in-process) — and the
 * incident log the API shows. It holds no capability and parses what comes from outside; the probe side reaches
 * it with incidents, bundle references and its rules' actions, and it reaches the probe side for metrics text
 * and silences through `ProbeAccess` (the channel in `tripline run`, direct calls when both run in one process,
 * as in `tripline demo` and tests).
 */
import type { Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { TriplineError } from '../errors.ts';
import { IncidentLog } from '../incident-log.ts';
import type { Incident } from '../incident.ts';
import type { BundleRef } from '../bundle/types.ts';
import type { SilenceService } from '../rules/silence-service.ts';
import { openQueue } from '../actions/open-queue.ts';
import { dispatch } from '../actions/dispatcher.ts';
import type { ActionQueue, JobSettled } from '../actions/queue.ts';
import { ACTIONS, actionFor, type ActionRegistry } from '../actions/registry.ts';
import { createServer, type TriplineServer } from '../server/http.ts';
import { mountApi } from '../server/api.ts';
import type { IncidentReport } from '../pipeline/events.ts';
import { RuleBook, type RuleActions } from './rule-book.ts';
import type { SignalReader } from '../signal-read.ts';
import type { PodSnapshot } from '../pod-meta.ts';
import type { PodCache } from '../kube/pod-cache.ts';
import { mountAlertmanager, type AlertmanagerParts } from '../alertmanager/mount.ts';
import { kubernetesConfigured, resolveCredentials } from '../kube/kubeconfig.ts';
import { startObservers, type IncidentObservers } from '../export/observers.ts';
import { SlackLink } from '../actions/slack/link.ts';
import type {
  CaptureExtendMsg,
  CaptureExtendReply,
  CaptureReply,
  CaptureRequestMsg,
} from '../capture/request-schema.ts';

/** What the network side asks of the probe side. */
export interface ProbeAccess {
  /** The probe side's /metrics text. */
  metrics(): Promise<{ text: string; contentType: string }>;
  readonly silences: SilenceService;
  /** A rule's conditions re-read for some of its series (scale verification); absent: verification without it. */
  readonly readSignal?: SignalReader;
  /** Asks the probe side for a scoped capture (src/capture/request-schema.ts); absent: requests are refused. */
  readonly requestCapture?: (r: CaptureRequestMsg) => Promise<CaptureReply>;
  readonly extendCapture?: (r: CaptureExtendMsg) => Promise<CaptureExtendReply>;
}

export { ruleActions, type RuleActions } from './rule-book.ts';

export interface NetworkSideOptions {
  readonly config: Readonly<Config>;
  readonly log: Logger;
  readonly probe: ProbeAccess;
  /** The API's bearer token. */
  readonly apiToken: string;
  readonly actions?: ActionRegistry;
  /** Registry for the network side's own metrics (queue), appended to the probe side's on /metrics. */
  readonly metricsRegistry?: Registry;
  /** Keep in-process action state in data_dir (the engine and CLI; tests leave it off). */
  readonly persistState?: boolean;
  /** Called for each settled action job (the engine re-emits it). */
  readonly onSettled?: (s: JobSettled) => void;
  /**
   * The pods on this node after each change of the pod cache (debounced): the probe side names cgroups with them.
   * The cache runs when `kubernetes.node_name` is set and credentials are found.
   */
  readonly onPods?: (s: PodSnapshot) => void;
  /** Environment credentials are looked for in (the service account's KUBERNETES_SERVICE_HOST). @defaultValue process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** The network side of one tripline service. */
export class NetworkSide {
  readonly incidents = new IncidentLog();
  readonly #o: NetworkSideOptions;
  readonly #book = new RuleBook();
  readonly #chains = new Map<string, Promise<void>>();
  #ready: true | string = 'no word from the probe side yet';
  readonly #requested = new Set<(r: IncidentReport) => void>();
  /** Action sets that are no rule's (alertmanager.receive.actions), by `name\0hash`. */
  readonly #extra = new Map<string, RuleActions>();
  #am?: AlertmanagerParts;
  #queue?: ActionQueue;
  #server?: TriplineServer;
  #apiServer?: TriplineServer;
  #pods?: PodCache;
  #observers?: IncidentObservers;
  /** Socket Mode clicks and digests. */
  readonly slack = new SlackLink();
  /** Where /metrics (and /api unless api.listen) listens. */
  address?: { host: string; port: number };
  /** Where /api listens when api.listen puts it apart. */
  apiAddress?: { host: string; port: number };

  constructor(o: NetworkSideOptions) {
    this.#o = o;
  }

  /** The action queue (open after `start`). */
  get queue(): ActionQueue | undefined {
    return this.#queue;
  }

  /** This node's pod cache, when it runs. */
  get pods(): PodCache | undefined {
    return this.#pods;
  }

  /**
   * Starts the pod cache when Kubernetes is configured (credentials and a node name); client-node is loaded only
   * then. It syncs in the background: a failure is logged and retried, never fatal to the network side.
   */
  async #startPods(): Promise<void> {
    const { config: c, log } = this.#o;
    const node = c.kubernetes.node_name;
    const env = this.#o.env ?? process.env;
    if (!node || !kubernetesConfigured(c.kubernetes, env)) {
      if (node) log.info({ node }, 'pod cache off: no Kubernetes credentials (kubeconfig, service account, api_url)');
      return;
    }
    let creds;
    try {
      creds = resolveCredentials(c.kubernetes, env);
    } catch (err) {
      const e = err as TriplineError;
      log.error({ err: e.message, hint: e.hint }, 'pod cache off: Kubernetes credentials cannot be loaded');
      return;
    }
    const { PodCache } = await import('../kube/pod-cache.ts');
    const { podCacheMetrics } = await import('../kube/pod-cache-metrics.ts');
    this.#pods = new PodCache({ creds, node, log, onSnapshot: (s) => this.#o.onPods?.(s) });
    for (const m of podCacheMetrics(c.metrics.prefix, this.#pods)) this.#o.metricsRegistry?.registerMetric(m as never);
    this.#pods.start();
  }

  /** Opens the queue and starts its workers, then serves HTTP on `listen` (and api.listen). */
  async start(listen: string = this.#o.config.listen): Promise<{ host: string; port: number }> {
    const { config: c, log } = this.#o;
    await this.#startPods();
    this.#observers = await startObservers({
      config: c,
      log,
      registry: this.#o.metricsRegistry,
      incidents: this.incidents,
    });
    this.#observers.rules([...new Set([...this.#book.values()].map((r) => r.name))]); // rules given before start
    this.#queue = await openQueue({
      pods: this.#pods,
      config: c,
      log,
      registry: this.#o.actions,
      metricsRegistry: this.#o.metricsRegistry,
      persistState: this.#o.persistState,
      readSignal: this.#o.probe.readSignal,
      // Each job's actions are rebuilt from the rule version it names, never taken from the stored job.
      rules: (name, hash) => this.rule(name, hash),
    });
    this.#queue.onSettled((s) => {
      const ok = s.state === 'completed';
      this.incidents.action(s.job.incident.id, s.id, ok ? `completed: ${s.summary}` : `failed: ${s.reason}`);
      log[ok ? 'info' : 'warn'](
        {
          job: s.id,
          action: s.job.spec.type,
          event: s.job.event,
          key: s.job.incident.key,
          result: ok ? s.summary : s.reason,
        },
        'action settled',
      );
      this.#observers?.settled(s);
      this.slack.settled(s);
      this.#o.onSettled?.(s);
    });
    await this.#queue.start();
    const queue = this.#queue;
    await this.slack.start({
      config: c,
      env: this.#o.env ?? process.env,
      log,
      store: queue.store,
      silences: this.#o.probe.silences,
      enqueue: (input) => queue.enqueue(input),
      incidents: () => this.incidents.list(),
      metricsRegistry: this.#o.metricsRegistry,
      captureMsOf: (name) => [...this.#book.values()].findLast((r) => r.name === name)?.captureMs,
      captures:
        this.#o.probe.requestCapture && this.#o.probe.extendCapture
          ? { request: this.#o.probe.requestCapture, extend: this.#o.probe.extendCapture }
          : undefined,
    });
    this.onRequested((r) => void this.slack.requested(r));

    const api = { token: this.#o.apiToken, allowedHosts: c.api.allowed_hosts };
    const onError = (err: unknown, req: object): void =>
      log.error({ err: (err as Error)?.message, ...req }, 'http handler failed');
    const ready = (): true | string => this.#ready;
    const own = this.#o.metricsRegistry;
    const metrics = {
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      scrape: async (): Promise<string> => {
        const probe = await this.#o.probe.metrics();
        return own ? probe.text + (await own.metrics()) : probe.text;
      },
    };
    this.#server = createServer({ metrics, ready, onError, api: c.api.listen ? undefined : api });
    const apiServer = c.api.listen ? createServer({ ready, onError, api }) : this.#server;
    mountApi(apiServer, { incidents: this.incidents, silences: this.#o.probe.silences });
    this.#am = this.#mountAlertmanager(apiServer);
    this.address = await this.#server.listen(listen);
    if (apiServer !== this.#server) {
      this.#apiServer = apiServer;
      this.apiAddress = await apiServer.listen(c.api.listen!);
    }
    return this.address;
  }

  /** Asks the probe side for a scoped capture; its reports come to the `onRequested` listeners. */
  requestCapture(r: CaptureRequestMsg): Promise<CaptureReply> {
    const ask = this.#o.probe.requestCapture;
    return ask ? ask(r) : Promise.resolve({ accepted: false, code: 'busy', reason: 'no probe side to capture' });
  }

  /** Adds seconds to a requested capture that runs. */
  extendCapture(r: CaptureExtendMsg): Promise<CaptureExtendReply> {
    const ask = this.#o.probe.extendCapture;
    return ask ? ask(r) : Promise.resolve({ extended: false, code: 'unknown', reason: 'no probe side to capture' });
  }

  /** Listens to the reports of requested captures (each step, once recorded); returns the unsubscribe. */
  onRequested(listener: (r: IncidentReport) => void): () => void {
    this.#requested.add(listener);
    return () => this.#requested.delete(listener);
  }

  /** Alertmanager both ways: the webhook on the API server, the output of incidents (src/alertmanager/). */
  #mountAlertmanager(server: TriplineServer): AlertmanagerParts {
    const { config: c, log } = this.#o;
    const queue = this.#queue!;
    return mountAlertmanager({
      config: c,
      log,
      server,
      incidents: this.incidents,
      registry: { ...ACTIONS, ...this.#o.actions },
      metrics: this.#o.metricsRegistry,
      baseUrl: () => {
        const a = this.apiAddress ?? this.address;
        return `http://${c.host}:${a?.port ?? 0}`;
      },
      ruleOf: (rec) => (rec.ruleHash ? this.rule(rec.rule, rec.ruleHash) : undefined),
      request: (r) => this.requestCapture(r),
      onRequested: (l) => this.onRequested(l),
      podHere: (ns, name) =>
        this.#pods?.synced ? this.#pods.snapshot().pods.some((p) => p.namespace === ns && p.name === name) : undefined,
      record: (r) => this.record(r),
      store: queue.store,
      addRule: (r) => void this.#extra.set(`${r.name}\0${r.hash}`, r),
      dispatch: async (rule, inc, opts) => {
        const results = await dispatch(queue, rule, inc, opts);
        for (const res of results)
          if (this.incidents.get(inc.id)?.actions[res.id] === undefined)
            this.incidents.action(inc.id, res.id, 'queued');
      },
    });
  }

  /** The probe side's readiness (its sampler has ticked), for /readyz. */
  setReady(ready: true | string): void {
    this.#ready = ready;
  }

  /**
   * The loaded rules' actions (at start and after each reload). Each action's config is checked (a webhook's
   * secret env set, Slack's channel when a token is set, …): a problem is logged with the rule's file and line,
   * the action would fail unrecoverably, and the rest runs on.
   */
  setRules(rules: readonly RuleActions[]): void {
    const registry = this.#o.actions ?? ACTIONS;
    this.#observers?.rules(rules.map((r) => r.name));
    for (const rule of this.#book.set(rules))
      for (const [i, spec] of rule.actions.entries()) {
        try {
          actionFor(spec.type, registry).check?.(spec as never, this.#o.config, process.env);
        } catch (err) {
          const e = err as TriplineError;
          this.#o.log.error(
            {
              rule: rule.name,
              action: spec.type,
              at: `${rule.source.file}:${rule.source.line}`,
              err: e.message,
              hint: e.hint,
            },
            `rule ${rule.name}: actions[${i}] (${spec.type}) cannot run with this configuration`,
          );
        }
      }
  }

  /** The actions of a rule version, or undefined when this side was never given it. */
  rule(name: string, hash: string): RuleActions | undefined {
    return this.#book.get(name, hash) ?? this.#extra.get(`${name}\0${hash}`);
  }

  /**
   * Records an incident's state and, when asked, queues its rule's actions for the event. Reports of one incident
   * key are handled one after another, in the order they came, so a resolve is never queued before its trip.
   */
  record(r: IncidentReport): Promise<void> {
    const key = r.incident.key;
    const next = (this.#chains.get(key) ?? Promise.resolve())
      .then(() => this.#record(r))
      .catch((err) => this.#o.log.error({ key, err: (err as Error)?.message }, 'queueing actions failed'));
    this.#chains.set(key, next);
    void next.then(() => {
      if (this.#chains.get(key) === next) this.#chains.delete(key);
    });
    return next;
  }

  async #record(r: IncidentReport): Promise<void> {
    const inc = r.incident as Incident;
    const first = this.incidents.get(inc.id) === undefined;
    const rec = this.incidents.upsert(inc);
    this.#observers?.report(r, first);
    if (r.capture === 'running') rec.capture = 'running';
    else if (r.capture === 'done' || r.capture === 'failed')
      this.incidents.captured(inc.id, r.bundle as BundleRef | undefined, r.captureError);
    if (r.dispatch === 'firing' && r.ruleHash) rec.ruleHash = r.ruleHash;
    this.#am?.output.observe(rec);
    if (r.request)
      for (const l of this.#requested)
        try {
          l(r);
        } catch (err) {
          this.#o.log.error({ err: (err as Error)?.message }, 'capture request listener failed');
        }
    if (!r.dispatch || !this.#queue) return;
    const rule = r.ruleHash === undefined ? undefined : this.rule(inc.rule, r.ruleHash);
    if (!rule) {
      this.#o.log.warn(
        { incident: inc.id, rule: inc.rule, version: r.ruleHash },
        'incident of a rule version this side was not given: no actions queued',
      );
      return;
    }
    const results = await dispatch(this.#queue, rule, inc, {
      event: r.dispatch,
      bundle: r.bundle as BundleRef | undefined,
    });
    for (const res of results) {
      // The in-process queue may run and settle a job before its enqueue returns: keep the settled state.
      if (this.incidents.get(inc.id)?.actions[res.id] === undefined) this.incidents.action(inc.id, res.id, 'queued');
    }
  }

  /** Flushes the queue (up to `flushMs`) and closes the servers. */
  async stop(flushMs = 10_000): Promise<void> {
    await Promise.allSettled([...this.#chains.values()]);
    await this.#am?.stop();
    await this.slack.stop();
    await this.#queue?.close(flushMs);
    await this.#observers?.stop();
    await this.#pods?.stop();
    await this.#server?.close();
    await this.#apiServer?.close();
  }
}

/**
 * The engine: wires probes → sampler → rules → incidents → capture → bundle → actions, and owns their
 * lifecycle: start, reload (SIGHUP, rule file changes), graceful stop (captures cut and bundled, queues
 * flushed, everything detached). Every part is built from the frozen config; registries can be injected.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { Counter, Gauge } from 'prom-client';
import type { Redis } from 'ioredis';
import { openRedis } from './redis-client.ts';
import { parseDuration, type Config } from './config.ts';
import { TriplineError } from './errors.ts';
import { INSTALL_DIR, OBJ_DIR } from './paths.ts';
import type { Incident } from './incident.ts';
import { IncidentLog } from './incident-log.ts';
import type { Logger } from './log.ts';
import type { BundleRef } from './bundle/types.ts';
import { CgroupResolver } from './probes/cgroups.ts';
import { enableStats } from './probes/libbpf.ts';
import { COUNTERS } from './probes/counters/index.ts';
import { startFamilies } from './probes/counters/start.ts';
import type { CounterFactory, CounterFamily } from './probes/counters/types.ts';
import { deepProbes } from './probes/deep/index.ts';
import type { DeepProbe } from './probes/deep/types.ts';
import { createSampler, type Sampler } from './sampler/sampler.ts';
import { createMetrics, type Metrics } from './metrics/index.ts';
import { loadRuleSet } from './rules/load.ts';
import { Evaluator } from './rules/evaluate/evaluate.ts';
import type { StateStore } from './rules/state/store.ts';
import { openStateStore } from './rules/state/open.ts';
import { RuleReloader } from './rules/reload.ts';
import { planFor } from './rules/plan.ts';
import type { Rule } from './rules/types.ts';
import { CaptureManager } from './capture/manager.ts';
import { scheduleRetention } from './bundle/retention.ts';
import { openQueue } from './actions/open-queue.ts';
import { dispatch } from './actions/dispatcher.ts';
import type { ActionQueue } from './actions/queue.ts';
import type { ActionEvent } from './actions/types.ts';
import { ACTIONS, actionFor, type ActionRegistry } from './actions/registry.ts';
import { createServer, type TriplineServer } from './server/http.ts';
import { mountApi } from './server/api.ts';
import { loadApiToken } from './server/auth.ts';
import { localSilences } from './rules/silence-service.ts';

export interface EngineOptions {
  readonly config: Readonly<Config>;
  /** The config file, when there is one: relative rule paths are resolved against its folder. */
  readonly configFile?: string;
  readonly log: Logger;
  /** Keep only the file-based counters (`tripline run --no-bpf`). */
  readonly noBpf?: boolean;
  /** @defaultValue build/bpf of this installation */
  readonly objDir?: string;
  readonly counters?: Readonly<Record<string, CounterFactory>>;
  readonly deepProbes?: Readonly<Record<string, DeepProbe>>;
  readonly actions?: ActionRegistry;
  /** Watch rule files and reload on change. @defaultValue true */
  readonly watchRules?: boolean;
}

/** Events: 'tick' (Tick), 'incident' (Incident), 'capture' ({phase, ...}), 'action' (JobSettled), 'reload' ({ok, error?}). */
export class Engine extends EventEmitter {
  readonly config: Readonly<Config>;
  readonly incidents = new IncidentLog();
  private readonly opts: EngineOptions;
  private readonly log: Logger;
  private readonly objDir: string;
  private readonly rulePaths: string[];
  private families: CounterFamily[] = [];
  private sampler?: Sampler;
  private metrics?: Metrics;
  private evaluator?: Evaluator;
  private store?: StateStore;
  private redis?: Redis;
  private capture?: CaptureManager;
  private queue?: ActionQueue;
  private server?: TriplineServer;
  private apiServer?: TriplineServer;
  private retention?: { stop(): void };
  private reloader?: RuleReloader;
  /** Per incident key: the chain of work (capture, then actions), so a resolve never overtakes its trip. */
  private readonly chains = new Map<string, Promise<void>>();
  /** The rule an incident fired under (a reload may remove the rule before the resolve). */
  private readonly firingRules = new Map<string, Rule>();
  private saving: Promise<void> = Promise.resolve();
  private reloadFailures?: Counter;
  private reloadOk?: Gauge;
  private stopping = false;
  address?: { host: string; port: number };
  /** Where /api listens when api.listen puts it apart. */
  apiAddress?: { host: string; port: number };

  constructor(opts: EngineOptions) {
    super();
    this.opts = opts;
    this.config = opts.config;
    this.log = opts.log;
    this.objDir = opts.objDir ?? OBJ_DIR;
    const base = opts.configFile ? dirname(resolve(opts.configFile)) : INSTALL_DIR;
    this.rulePaths = opts.config.rules.map((p) => (isAbsolute(p) ? p : resolve(base, p)));
  }

  /** Loads the rules first (a broken rule set refuses to start), then starts every part. */
  async start(listen = this.config.listen): Promise<{ host: string; port: number }> {
    // Unit tests (*.test.yaml) beside the rules are not loaded: a broken test never blocks the engine.
    const { ruleSet } = loadRuleSet(this.rulePaths, { tests: false, actions: { ...ACTIONS, ...this.opts.actions } });
    const c = this.config;
    const dataDir = c.data_dir;
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const bundlesDir = c.bundles.dir ?? join(dataDir, 'bundles');

    // Probes → sampler.
    const { families, unavailable } = startFamilies(
      this.opts.counters ?? COUNTERS,
      { config: c, objDir: this.objDir },
      { noBpf: this.opts.noBpf },
    );
    this.families = families;
    for (const u of unavailable) this.log.warn({ family: u.family, reason: u.reason }, 'counter family unavailable');
    if (!this.opts.noBpf && families.length === 0) {
      throw new TriplineError(
        'ENGINE_ERR_PRIVILEGE',
        `no counter family could start: ${unavailable.map((u) => `${u.family}: ${u.reason}`).join('; ')}`,
        { hint: 'run `tripline doctor`; or `tripline run --no-bpf` for the file-based signals only' },
      );
    }
    let resolver: CgroupResolver | undefined;
    try {
      resolver = new CgroupResolver();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'no cgroup labels: cpu cgroup hierarchy not found');
    }
    this.sampler = createSampler({ families, resolver, config: c, unavailable });
    this.metrics = createMetrics({ sampler: this.sampler, config: c });
    this.reloadFailures = new Counter({
      name: `${c.metrics.prefix}rules_reload_failures_total`,
      help: 'Rule reloads rejected because the new rule set did not validate.',
      registers: [this.metrics.registry],
    });
    this.reloadOk = new Gauge({
      name: `${c.metrics.prefix}rules_last_reload_success`,
      help: '1 when the last rule load succeeded, 0 when it was rejected (the previous rules keep running).',
      registers: [this.metrics.registry],
    });
    this.reloadOk.set(1);
    const engine = this;
    new Gauge({
      name: `${c.metrics.prefix}rules_loaded`,
      help: 'Rules being evaluated.',
      registers: [this.metrics.registry],
      collect(this: Gauge): void {
        this.set(engine.evaluator?.rules.length ?? 0);
      },
    });
    const suppressed = new Counter({
      name: `${c.metrics.prefix}rules_suppressed_trips_total`,
      help: 'Trips not turned into incidents, by reason (muted, cooldown, cap, silenced, inhibited).',
      labelNames: ['rule', 'reason'],
      registers: [this.metrics.registry],
    });

    // Rules, with persisted state.
    this.checkActions(ruleSet.rules);
    this.evaluator = new Evaluator(ruleSet);
    this.evaluator.suppressor.onSuppressed = (t) => {
      suppressed.inc({ rule: t.incident.rule, reason: t.reason });
      this.log.info(
        { rule: t.incident.rule, key: t.incident.key, reason: t.reason, detail: t.detail },
        'trip suppressed',
      );
    };
    const onStateError = (err: Error): void => this.log.error({ err: err.message }, 'rule state');
    if (c.redis.url) {
      this.redis = openRedis(c.redis.url, 'commands', (err) =>
        this.log.warn({ err: err.message }, 'redis (rule state)'),
      );
    }
    this.store = openStateStore(c, this.redis, onStateError);
    const saved = await this.store.load();
    if (saved) this.evaluator.restore(saved, Date.now());

    // Capture and actions.
    this.capture = new CaptureManager({
      registry: this.opts.deepProbes ?? deepProbes,
      objDir: this.objDir,
      redact: c.bundles.redact,
      bundlesDir,
      maxConcurrent: c.capture.max_concurrent,
      maxCpuPercent: c.capture.max_cpu_percent,
      defaultDurationMs: parseDuration(c.capture.duration),
      history: this.sampler,
      historyMs: parseDuration(c.sampler.history),
      warm: this.opts.noBpf ? [] : undefined,
      // Probe CPU (for the cap) is measured from the kernel's run-time statistics, on only while captures run.
      enableStats: this.opts.noBpf ? undefined : enableStats,
    });
    this.capture.start();
    for (const [probe, why] of this.capture.unavailable)
      this.log.warn({ probe, reason: why }, 'deep probe unavailable');
    for (const phase of ['started', 'attached', 'finished', 'failed'] as const)
      this.capture.on(phase, (e: object) => this.emit('capture', { phase, ...e }));
    this.queue = await openQueue({
      config: c,
      log: this.log,
      registry: this.opts.actions,
      metricsRegistry: this.metrics.registry,
      persistState: true,
    });
    this.queue.onSettled((s) => {
      this.incidents.action(
        s.job.incident.id,
        s.id,
        s.state === 'completed' ? `completed: ${s.summary}` : `failed: ${s.reason}`,
      );
      this.log[s.state === 'completed' ? 'info' : 'warn'](
        {
          job: s.id,
          action: s.job.spec.type,
          event: s.job.event,
          key: s.job.incident.key,
          result: s.state === 'completed' ? s.summary : s.reason,
        },
        'action settled',
      );
      this.emit('action', s);
    });
    await this.queue.start();
    this.retention = scheduleRetention(
      bundlesDir,
      { maxAgeMs: parseDuration(c.bundles.max_age), maxCount: c.bundles.max_count, maxBytes: c.bundles.max_bytes },
      c.bundles.retention_schedule,
      (r) => {
        if (r instanceof Error) this.log.warn({ err: r.message }, 'bundle retention');
      },
    );

    // Servers: /metrics and health on `listen`; /api there too, or alone on api.listen.
    const tokenFile = c.api.token_file ?? join(dataDir, 'api-token');
    const { token, created } = loadApiToken(tokenFile);
    if (created) this.log.info({ file: tokenFile }, 'API token created (send it as Authorization: Bearer)');
    const api = { token, allowedHosts: c.api.allowed_hosts };
    const onError = (err: unknown, req: object): void =>
      this.log.error({ err: (err as Error)?.message, ...req }, 'http handler failed');
    const ready = (): true | string => (this.sampler?.ticked ? true : 'no sampler tick yet');
    this.server = createServer({ metrics: this.metrics, ready, onError, api: c.api.listen ? undefined : api });
    const apiServer = c.api.listen ? createServer({ ready, onError, api }) : this.server;
    const silences = localSilences(
      () => this.evaluator!.suppressor,
      ({ op, silence }) =>
        this.log.info(
          { silence: silence.id, author: silence.author, comment: silence.comment },
          `silence ${op === 'add' ? 'added' : 'removed'}`,
        ),
    );
    mountApi(apiServer, { incidents: this.incidents, silences });
    this.address = await this.server.listen(listen);
    if (apiServer !== this.server) {
      this.apiServer = apiServer;
      this.apiAddress = await apiServer.listen(c.api.listen!);
    }

    this.sampler.onTick((tick) => {
      this.emit('tick', tick);
      if (this.stopping || !this.evaluator) return;
      for (const inc of this.evaluator.tick(tick)) this.onIncident(inc);
      if (this.evaluator.dirty) this.persist();
    });
    this.sampler.start();
    this.reloader = new RuleReloader(ruleSet, {
      paths: this.rulePaths,
      actions: { ...ACTIONS, ...this.opts.actions },
      apply: (rs) => {
        this.checkActions(rs.rules);
        for (const inc of this.evaluator!.setRuleSet(rs)) this.onIncident(inc);
        this.log.info({ rules: rs.rules.length }, 'rules reloaded');
      },
      onError: (errors, reason) => {
        this.log.error(
          { reason, errors: errors.map((e) => e.message) },
          'rule reload rejected; the previous rules keep running',
        );
      },
      onReload: (r) => {
        if (!r.ok) this.reloadFailures?.inc();
        this.reloadOk?.set(r.ok ? 1 : 0);
        this.emit('reload', {
          ok: r.ok,
          changed: r.changed,
          reason: r.reason,
          error: r.errors.map((e) => e.message).join('; ') || undefined,
        });
      },
    });
    if (this.opts.watchRules !== false) this.reloader.watch();
    this.log.info(
      {
        listen: `${this.address.host}:${this.address.port}`,
        rules: ruleSet.rules.length,
        families: families.map((f) => f.name),
        queue: this.queue.kind,
      },
      'tripline running',
    );
    return this.address;
  }

  /** Reloads the rule files (SIGHUP): a set that fails validation is rejected whole and the running rules stay. */
  reload(): boolean {
    return this.reloader?.reload('signal').ok ?? false;
  }

  /** Graceful stop: no more ticks, running captures cut and bundled, their actions queued and flushed, all detached. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.reloader?.close();
    this.sampler?.stop();
    await this.capture?.stop();
    await Promise.race([Promise.allSettled([...this.chains.values()]), sleep(15_000)]);
    await this.queue?.close(10_000);
    this.persist();
    await this.saving;
    await this.store?.close();
    this.redis?.disconnect();
    for (const f of this.families.splice(0)) f.close();
    this.retention?.stop();
    await this.server?.close();
    await this.apiServer?.close();
    this.log.info({}, 'tripline stopped');
  }

  /**
   * Checks each rule's actions against the config (a webhook's secret env set, Slack's channel when a token is
   * set, a valid scale step): a problem is logged with the rule's file and line at start and reload, and the
   * action would fail unrecoverably (visible in `tripline actions failed`); the engine and other actions run on.
   */
  private checkActions(rules: readonly Rule[]): void {
    for (const rule of rules) {
      for (const [i, spec] of rule.actions.entries()) {
        try {
          actionFor(spec.type, this.opts.actions ?? ACTIONS).check?.(spec as never, this.config, process.env);
        } catch (err) {
          const e = err as TriplineError;
          this.log.error(
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
  }

  /** The rule a firing incident's actions and capture follow. */
  private ruleFor(inc: Incident): Rule | undefined {
    return this.evaluator?.rules.find((r) => r.name === inc.rule) ?? this.firingRules.get(inc.key);
  }

  private onIncident(inc: Incident): void {
    this.incidents.upsert(inc);
    this.log.info(
      {
        incident: inc.id,
        key: inc.key,
        rule: inc.rule,
        status: inc.status,
        value: inc.value,
        threshold: inc.threshold,
      },
      `incident ${inc.status}`,
    );
    this.emit('incident', inc);
    const rule = this.ruleFor(inc);
    if (!rule) return;
    if (inc.status === 'firing') this.firingRules.set(inc.key, rule);
    const prev = this.chains.get(inc.key) ?? Promise.resolve();
    const next = prev
      .then(() => (inc.status === 'firing' ? this.onFiring(inc, rule) : this.dispatch(inc, rule, 'resolved')))
      .catch((err) => this.log.error({ key: inc.key, err: (err as Error)?.message }, 'incident handling failed'));
    this.chains.set(inc.key, next);
    void next.then(() => {
      if (this.chains.get(inc.key) === next) this.chains.delete(inc.key);
      if (inc.status === 'resolved') this.firingRules.delete(inc.key);
    });
  }

  private async onFiring(inc: Incident, rule: Rule): Promise<void> {
    let bundle: BundleRef | undefined;
    if (planFor(rule, inc, parseDuration(this.config.capture.duration)).probes.length > 0 && this.capture) {
      const rec = this.incidents.get(inc.id);
      if (rec) rec.capture = 'running';
      try {
        bundle = await this.capture.capture({ incident: inc, rule, tripAt: Date.parse(inc.firedAt) });
        this.incidents.captured(inc.id, bundle);
        this.log.info(
          { incident: inc.id, bundle: bundle.dir, partial: bundle.partial, cause: bundle.findings.diagnosis?.cause },
          'bundle written',
        );
      } catch (err) {
        const message = err instanceof TriplineError ? err.describe() : String((err as Error)?.message ?? err);
        this.incidents.captured(inc.id, undefined, message);
        this.log.warn({ incident: inc.id, err: message }, 'capture failed; actions run without a bundle');
      }
    }
    await this.dispatch(inc, rule, 'firing', bundle);
  }

  private async dispatch(inc: Incident, rule: Rule, event: ActionEvent, bundle?: BundleRef): Promise<void> {
    if (!this.queue) return;
    for (const r of await dispatch(this.queue, rule, inc, { event, bundle }))
      this.incidents.action(inc.id, r.id, 'queued');
  }

  /** Saves the rules' state, one save at a time (the latest snapshot wins). */
  private persist(): void {
    if (!this.evaluator || !this.store) return;
    const snapshot = this.evaluator.snapshot();
    this.evaluator.dirty = false;
    const store = this.store;
    this.saving = this.saving
      .then(() => store.save(snapshot))
      .catch((err) => this.log.error({ err: (err as Error).message }, 'saving rule state failed'));
  }

  /** The evaluator's view for tools (demo progress): phase of a series of a rule. */
  seriesPhase(rule: string, key: string): string | undefined {
    return this.evaluator?.stateOf(rule, key)?.phase;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

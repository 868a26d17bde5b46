/**
 * The rule runtime: the evaluator over the running rule set, its persisted state (loaded once at start, saved
 * one snapshot at a time), hot reload (RuleReloader: rule file changes, SIGHUP) and the rules' own metrics
 * (rules loaded, suppressed trips, reload failures, last reload success). Every incident it produces, on a
 * tick or on a reload that resolves the incidents of removed rules, goes to `onIncident`: what happens to an
 * incident next (capture, actions) is the incident pipeline's business (src/pipeline/incident-pipeline.ts).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Redis } from 'ioredis';
import { openRedis, type RedisSecurity } from '../redis-client.ts';
import type { Incident } from '../incident.ts';
import type { Logger } from '../log.ts';
import type { Tick } from '../samples.ts';
import { Evaluator } from './evaluate/evaluate.ts';
import type { Phase } from './evaluate/lifecycle.ts';
import type { Suppressor } from './evaluate/suppress.ts';
import { RuleReloader, type ReloadReason } from './reload.ts';
import { openStateStore } from './state/open.ts';
import type { StateStore } from './state/store.ts';
import type { Rule, RuleSet } from './types.ts';
import type { ActionCatalog, ProbeCatalog } from './parse/schema.ts';
import { localSilences, type SilenceService } from './silence-service.ts';

/** Payload of the engine's 'reload' event: the outcome of one reload attempt. */
export interface ReloadEvent {
  readonly ok: boolean;
  /** False when the files load to the running set (nothing applied). */
  readonly changed: boolean;
  readonly reason: ReloadReason;
  /** The errors of a rejected set, joined. */
  readonly error?: string;
}

/** What a rule runtime is built from. */
export interface RuleRuntimeOptions {
  /** The set loaded at start (the engine refuses to start on a broken set, so this one is valid). */
  readonly ruleSet: RuleSet;
  /** Rule files and folders a reload reads (config `rules`, resolved). */
  readonly paths: readonly string[];
  /** The parts of the config the runtime reads: where state lives, the metric prefix and this engine's host. */
  readonly config: {
    readonly host: string;
    readonly data_dir: string;
    readonly redis: { readonly url?: string; readonly prefix: string } & RedisSecurity;
    readonly metrics: { readonly prefix: string };
  };
  readonly log: Logger;
  /** Where the rules' metrics are registered (the engine's /metrics registry). */
  readonly registry: Registry;
  /** Receives every incident the evaluator emits, in order. */
  readonly onIncident: (inc: Incident) => void;
  /** Checks a set before it runs, at start and on each accepted reload (the engine checks the rules' actions). */
  readonly check?: (rules: readonly Rule[]) => void;
  /** Called after each reload attempt. */
  readonly onReload?: (e: ReloadEvent) => void;
  /** State back end. @defaultValue Redis when `redis.url` is set, else `<data_dir>/rule-state.json` */
  readonly store?: StateStore;
  /** The action catalog reloaded rules are validated against (the engine passes the registry). */
  readonly actions: ActionCatalog;
  /** The deep probe catalog reloaded rules' probes and options are validated against. */
  readonly probes?: ProbeCatalog;
}

/** The evaluator with its state, reload and metrics; see the module comment. */
export class RuleRuntime {
  private readonly opts: RuleRuntimeOptions;
  private readonly evaluator: Evaluator;
  private readonly reloadFailures: Counter;
  private readonly reloadOk: Gauge;
  private reloader?: RuleReloader;
  private store?: StateStore;
  private redis?: Redis;
  private saving: Promise<void> = Promise.resolve();
  private stopped = false;
  #silences?: SilenceService;

  constructor(opts: RuleRuntimeOptions) {
    this.opts = opts;
    const { registry, config } = opts;
    const prefix = config.metrics.prefix;
    this.reloadFailures = new Counter({
      name: `${prefix}rules_reload_failures_total`,
      help: 'Rule reloads rejected because the new rule set did not validate.',
      registers: [registry],
    });
    this.reloadOk = new Gauge({
      name: `${prefix}rules_last_reload_success`,
      help: '1 when the last rule load succeeded, 0 when it was rejected (the previous rules keep running).',
      registers: [registry],
    });
    this.reloadOk.set(1);
    const runtime = this;
    new Gauge({
      name: `${prefix}rules_loaded`,
      help: 'Rules being evaluated.',
      registers: [registry],
      collect(this: Gauge): void {
        this.set(runtime.evaluator.rules.length);
      },
    });
    const suppressed = new Counter({
      name: `${prefix}rules_suppressed_trips_total`,
      help: 'Trips not turned into incidents, by reason (muted, cooldown, cap, silenced, inhibited).',
      labelNames: ['rule', 'reason'],
      registers: [registry],
    });
    opts.check?.(opts.ruleSet.rules);
    this.evaluator = new Evaluator(opts.ruleSet, { host: config.host });
    this.evaluator.suppressor.onSuppressed = (t) => {
      suppressed.inc({ rule: t.incident.rule, reason: t.reason });
      opts.log.info(
        { rule: t.incident.rule, key: t.incident.key, reason: t.reason, detail: t.detail },
        'trip suppressed',
      );
    };
  }

  /** The rules being evaluated. */
  get rules(): readonly Rule[] {
    return this.evaluator.rules;
  }

  /** Silences and suppressed trips (the HTTP API). */
  get suppressor(): Suppressor {
    return this.evaluator.suppressor;
  }

  /** The running rule of this name, if any. */
  rule(name: string): Rule | undefined {
    return this.evaluator.rules.find((r) => r.name === name);
  }

  /** Lifecycle phase of one series (incident key) of a rule; undefined when the series has no state. */
  phaseOf(rule: string, key: string): Phase | undefined {
    return this.evaluator.stateOf(rule, key)?.phase;
  }

  /** Opens the state store and restores the saved state into the evaluator (once, before the first tick). */
  async restore(): Promise<void> {
    const { config, log } = this.opts;
    const onStateError = (err: Error): void => log.error({ err: err.message }, 'rule state');
    if (!this.opts.store && config.redis.url) {
      this.redis = openRedis(
        config.redis.url,
        'commands',
        (err) => log.warn({ err: err.message }, 'redis (rule state)'),
        config.redis,
      );
    }
    this.store = this.opts.store ?? openStateStore(config, this.redis, onStateError, config.host);
    const saved = await this.store.load();
    if (saved) this.evaluator.restore(saved, Date.now());
  }

  /** Evaluates one tick: incidents go to `onIncident`, then the state is saved when it changed. */
  tick(t: Tick): void {
    if (this.stopped) return;
    for (const inc of this.evaluator.tick(t)) this.opts.onIncident(inc);
    if (this.evaluator.dirty) this.persist();
  }

  /** Accepts reloads from now on (`reload()`), and on rule file changes when `watch` is set. */
  startReloads(watch: boolean): void {
    const { log } = this.opts;
    this.reloader = new RuleReloader(this.opts.ruleSet, {
      paths: this.opts.paths,
      actions: this.opts.actions,
      probes: this.opts.probes,
      apply: (rs) => {
        this.opts.check?.(rs.rules);
        for (const inc of this.evaluator.setRuleSet(rs)) this.opts.onIncident(inc);
        log.info({ rules: rs.rules.length }, 'rules reloaded');
      },
      onError: (errors, reason) => {
        log.error(
          { reason, errors: errors.map((e) => e.message) },
          'rule reload rejected; the previous rules keep running',
        );
      },
      onReload: (r) => {
        if (!r.ok) this.reloadFailures.inc();
        this.reloadOk.set(r.ok ? 1 : 0);
        this.opts.onReload?.({
          ok: r.ok,
          changed: r.changed,
          reason: r.reason,
          error: r.errors.map((e) => e.message).join('; ') || undefined,
        });
      },
    });
    if (watch) this.reloader.watch();
  }

  /** Reloads the rule files now; false when the set was rejected (or reloads have not started or have stopped). */
  reload(reason: ReloadReason = 'signal'): boolean {
    if (this.stopped) return false;
    return this.reloader?.reload(reason).ok ?? false;
  }

  /** No more ticks or reloads (first step of a graceful stop); the state is saved by `close`. */
  stop(): void {
    this.stopped = true;
    this.reloader?.close();
  }

  /** Saves the final state, waits for every save, closes the store (and its Redis client). */
  async close(): Promise<void> {
    this.stop();
    this.persist();
    await this.saving;
    await this.store?.close();
    this.redis?.disconnect();
  }

  /**
   * Run-time silences (the API's): validated and bounded by the silence service, each change logged with its
   * author and saved with the rule state.
   */
  get silences(): SilenceService {
    this.#silences ??= localSilences(
      () => this.evaluator.suppressor,
      ({ op, silence }) => {
        this.opts.log.info(
          { silence: silence.id, author: silence.author, comment: silence.comment },
          `silence ${op === 'add' ? 'added' : 'removed'}`,
        );
        this.persist();
      },
    );
    return this.#silences;
  }

  /** Saves the rules' state, one save at a time (the latest snapshot wins). */
  private persist(): void {
    if (!this.store) return;
    const snapshot = this.evaluator.snapshot();
    this.evaluator.dirty = false;
    const store = this.store;
    this.saving = this.saving
      .then(() => store.save(snapshot))
      .catch((err) => this.opts.log.error({ err: (err as Error).message }, 'saving rule state failed'));
  }
}

/**
 * The engine: builds the parts from the frozen config and wires them — probes → sampler → rule runtime
 * (src/rules/runtime.ts) → incident pipeline (src/pipeline/incident-pipeline.ts: capture → bundle → actions) —
 * and owns their lifecycle: start, reload (SIGHUP, rule file changes), graceful stop (captures cut and bundled,
 * queues flushed, everything detached). Registries (counter families, deep probes, actions) can be injected.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseDuration, type Config } from './config.ts';
import { TriplineError } from './errors.ts';
import { INSTALL_DIR, OBJ_DIR } from './paths.ts';
import { IncidentLog } from './incident-log.ts';
import type { Logger } from './log.ts';
import type { Tick } from './samples.ts';
import { CgroupResolver } from './probes/cgroups.ts';
import { PodDirectory, pathName } from './probes/pod-directory.ts';
import { enableStats } from './probes/libbpf.ts';
import { COUNTERS } from './probes/counters/index.ts';
import { startFamilies } from './probes/counters/start.ts';
import type { CounterFactory, CounterFamily } from './probes/counters/types.ts';
import { deepProbes } from './probes/deep/index.ts';
import { probeSettings } from './probes/deep/settings.ts';
import type { DeepProbe } from './probes/deep/types.ts';
import { createSampler, type Sampler } from './sampler/sampler.ts';
import { createMetrics } from './metrics/index.ts';
import { loadRuleSet } from './rules/load.ts';
import type { Phase } from './rules/evaluate/lifecycle.ts';
import { RuleRuntime, type ReloadEvent } from './rules/runtime.ts';
import { CaptureManager } from './capture/manager.ts';
import { OffenderWatch } from './capture/watch-list.ts';
import { scheduleRetention } from './bundle/retention.ts';
import { Registry } from 'prom-client';
import { ACTIONS, type ActionRegistry } from './actions/registry.ts';
import { IncidentPipeline } from './pipeline/incident-pipeline.ts';
import { CaptureRequests } from './pipeline/capture-requests.ts';
import { procView } from './capture/request-policy.ts';
import type { PipelineEvents } from './pipeline/events.ts';
import { loadApiToken } from './server/auth.ts';
import { NetworkSide, ruleActions } from './split/network-side.ts';
import { ProbeLink } from './split/probe-link.ts';
import { lookupUser } from './split/spawn.ts';

const EMPTY_LOG = new IncidentLog();

export type { CaptureEvent } from './pipeline/events.ts';
export type { ReloadEvent } from './rules/runtime.ts';
export type { JobSettled } from './actions/queue.ts';

/** What an engine is built from: the frozen config, a logger, and registries tests may replace. */
export interface EngineOptions {
  readonly config: Readonly<Config>;
  /** The config file, when there is one: relative rule paths are resolved against its folder. */
  readonly configFile?: string;
  readonly log: Logger;
  /** Keep only the file-based counters (`tripline run --no-bpf`). */
  readonly noBpf?: boolean;
  /** @defaultValue build/bpf of this installation */
  readonly objDir?: string;
  /** Counter families by name. @defaultValue COUNTERS (src/probes/counters/index.ts) */
  readonly counters?: Readonly<Record<string, CounterFactory>>;
  /** Deep probes by name. @defaultValue the deep probe catalog (src/probes/deep/index.ts) */
  readonly deepProbes?: Readonly<Record<string, DeepProbe>>;
  /** Action modules by type. @defaultValue ACTIONS (src/actions/registry.ts) */
  readonly actions?: ActionRegistry;
  /** Watch rule files and reload on change. @defaultValue true */
  readonly watchRules?: boolean;
  /**
   * Run the network side (HTTP, API, actions) in its own unprivileged process (`tripline run`), joined by the
   * channel; otherwise in this process (`tripline demo`, tests). @defaultValue false
   */
  readonly split?: boolean;
  /** The network side went away (split only): the caller stops and exits non-zero so the service restarts. */
  readonly onNetworkGone?: (why: string) => void;
}

/**
 * The engine's events, as an event map (name → listener arguments): 'tick' (each sampler tick, before the rules
 * see it), 'incident', 'capture', 'action' (see PipelineEvents) and 'reload' (each reload attempt).
 */
export interface EngineEvents extends PipelineEvents {
  tick: [tick: Tick];
  reload: [event: ReloadEvent];
}

/** The running tripline: see the module comment. `on`/`emit` are typed by EngineEvents. */
export class Engine extends EventEmitter<EngineEvents> {
  readonly config: Readonly<Config>;
  private readonly opts: EngineOptions;
  private readonly log: Logger;
  private readonly objDir: string;
  private readonly rulePaths: string[];
  private families: CounterFamily[] = [];
  private sampler?: Sampler;
  private rules?: RuleRuntime;
  private capture?: CaptureManager;
  private pipeline?: IncidentPipeline;
  /** Captures the network side asks for (an alert, a Slack button, the API). */
  private requests?: CaptureRequests;
  /** The network side in this process, or the link to it in its own. */
  private network?: NetworkSide;
  private link?: ProbeLink;
  /** The pods on this node as the network side's pod cache last told (names of cgroups on series and incidents). */
  readonly pods = new PodDirectory();
  private retention?: { stop(): void };
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
    const probes = this.opts.deepProbes ?? deepProbes;
    const { ruleSet } = loadRuleSet(this.rulePaths, {
      tests: false,
      actions: { ...ACTIONS, ...this.opts.actions },
      probes,
    });
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
    this.sampler = createSampler({ families, resolver, pods: this.pods, config: c, unavailable });
    const metrics = createMetrics({ sampler: this.sampler, config: c, side: this.opts.split ? 'probe' : 'engine' });

    // Rules, with persisted state; their incidents go down the pipeline (built below, before the first tick).
    const rules = new RuleRuntime({
      ruleSet,
      paths: this.rulePaths,
      config: c,
      log: this.log,
      registry: metrics.registry,
      onIncident: (inc) => this.pipeline?.handle(inc),
      check: (rs) => {
        this.network?.setRules(ruleActions(rs));
        this.link?.setRules(ruleActions(rs));
        if (!c.capture.allow_bpftrace_programs)
          for (const r of rs)
            if (r.capture?.bpftrace !== undefined || r.capture?.probes.includes('bpftrace'))
              this.log.error(
                { rule: r.name, at: `${r.source.file}:${r.source.line}` },
                `rule ${r.name}: its bpftrace program will not run (capture.allow_bpftrace_programs is false in the engine config)`,
              );
      },
      onReload: (e) => this.emit('reload', e),
      actions: { ...ACTIONS, ...this.opts.actions },
      probes,
    });
    this.rules = rules;
    await rules.restore();

    // Capture and actions. A trip's offenders go on the syscalls family's in-kernel watch list (capture.watch_offenders).
    const syscalls = families.find((f) => f.name === 'syscalls' && f.watch);
    const watch =
      syscalls && c.capture.watch_offenders !== 'off'
        ? new OffenderWatch({
            set: (cgroupIds) => syscalls.watch!({ cgroupIds }),
            policy: c.capture.watch_offenders,
            onError: (err) => this.log.warn({ err }, 'offenders not put on the syscall watch list'),
          })
        : undefined;
    this.capture = new CaptureManager({
      registry: probes,
      objDir: this.objDir,
      redact: c.bundles.redact,
      settings: probeSettings(c),
      bundlesDir,
      maxConcurrent: c.capture.max_concurrent,
      maxCpuPercent: c.capture.max_cpu_percent,
      defaultDurationMs: parseDuration(c.capture.duration),
      history: this.sampler,
      historyMs: parseDuration(c.sampler.history),
      nameOf: (path) => pathName(this.pods, path),
      watch,
      warm: this.opts.noBpf ? [] : undefined,
      // Probe CPU (for the cap) is measured from the kernel's run-time statistics, on only while captures run.
      enableStats: this.opts.noBpf ? undefined : enableStats,
    });
    this.capture.start();
    for (const [probe, why] of this.capture.unavailable)
      this.log.warn({ probe, reason: why }, 'deep probe unavailable');
    this.pipeline = new IncidentPipeline({
      log: this.log,
      outlet: (r) => (this.link ? this.link.report(r) : this.network?.record(r)),
      capture: this.capture,
      captureDurationMs: parseDuration(c.capture.duration),
      ruleOf: (name) => rules.rule(name),
      on: {
        incident: (inc) => this.emit('incident', inc),
        capture: (e) => this.emit('capture', e),
      },
    });
    this.requests = new CaptureRequests({
      capture: this.capture,
      probes: Object.keys(probes),
      lookup: { mount: resolver?.mount, pod: (ns, name) => this.pods.byName(ns, name) },
      host: c.host,
      defaultDurationMs: parseDuration(c.capture.duration),
      outlet: (r) => (this.link ? this.link.report(r) : this.network?.record(r)),
      firing: (key) => this.pipeline?.firing(key),
      policy: c.capture.requests,
      procs: procView({ version: resolver?.mount?.version, networkUid: networkUid(c.network.user) }),
      log: this.log,
    });
    this.retention = scheduleRetention(
      bundlesDir,
      { maxAgeMs: parseDuration(c.bundles.max_age), maxCount: c.bundles.max_count, maxBytes: c.bundles.max_bytes },
      c.bundles.retention_schedule,
      (r) => {
        if (r instanceof Error) this.log.warn({ err: r.message }, 'bundle retention');
      },
    );

    // The network side: /metrics, health and the API, the action queue. Its /metrics is ours plus its own.
    const tokenFile = c.api.token_file ?? join(dataDir, 'api-token');
    const { token, created } = loadApiToken(tokenFile);
    if (created) this.log.info({ file: tokenFile }, 'API token created (send it as Authorization: Bearer)');
    const probeMetrics = async (): Promise<{ text: string; contentType: string }> => ({
      text: await metrics.scrape(),
      contentType: metrics.contentType,
    });
    if (this.opts.split) {
      this.link = await ProbeLink.open({
        config: c,
        log: this.log,
        apiToken: token,
        listen,
        bundlesDir,
        metrics: probeMetrics,
        silences: rules.silences,
        readSignal: (q) => rules.readSignal(q),
        captures: this.requests,
        onPods: (snapshot) => {
          this.pods.replace(snapshot);
          this.log.debug({ pods: snapshot.pods.length }, 'pod directory replaced');
        },
        onGone: (why) => {
          this.log.error({ reason: why }, 'the network side is gone');
          this.opts.onNetworkGone?.(why);
        },
      });
      this.link.setRules(ruleActions(rules.rules));
      this.address = await this.link.address;
    } else {
      this.network = new NetworkSide({
        config: c,
        log: this.log,
        probe: {
          metrics: probeMetrics,
          silences: rules.silences,
          readSignal: async (q) => rules.readSignal(q),
          requestCapture: async (r) => this.requests!.request(r),
          extendCapture: async (r) => this.requests!.extend(r),
        },
        apiToken: token,
        actions: this.opts.actions,
        metricsRegistry: new Registry(),
        persistState: true,
        onSettled: (s) => this.emit('action', s),
        // In one process the pod cache's snapshots go to the pod directory directly (no channel).
        onPods: (snapshot) => this.pods.replace(snapshot),
      });
      this.network.setRules(ruleActions(rules.rules));
      this.address = await this.network.start(listen);
      this.apiAddress = this.network.apiAddress;
    }

    let ticked = false;
    this.sampler.onTick((tick) => {
      if (!ticked) {
        ticked = true;
        this.link?.setReady(true);
        this.network?.setReady(true);
      }
      this.emit('tick', tick);
      if (!this.stopping) rules.tick(tick);
    });
    this.sampler.start();
    rules.startReloads(this.opts.watchRules !== false);
    this.log.info(
      {
        listen: `${this.address.host}:${this.address.port}`,
        rules: ruleSet.rules.length,
        families: families.map((f) => f.name),
        network: this.link ? 'own process' : 'in process',
      },
      'tripline running',
    );
    return this.address;
  }

  /** The incidents seen, with bundles and action outcomes (in-process network side; empty when split). */
  get incidents(): IncidentLog {
    return this.network?.incidents ?? EMPTY_LOG;
  }

  /** Reloads the rule files (SIGHUP): a set that fails validation is rejected whole and the running rules stay. */
  reload(): boolean {
    return this.rules?.reload('signal') ?? false;
  }

  /** Graceful stop: no more ticks, running captures cut and bundled, their actions queued and flushed, all detached. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.rules?.stop();
    this.sampler?.stop();
    await this.capture?.stop();
    await this.pipeline?.drain(15_000);
    await this.network?.stop(10_000);
    await this.link?.close(15_000);
    await this.rules?.close();
    for (const f of this.families.splice(0)) f.close();
    this.retention?.stop();
    this.log.info({}, 'tripline stopped');
  }

  /**
   * Lifecycle phase of one series (incident key) of a rule, for tools that show a rule's progress before it
   * fires (the demo); undefined before the engine started or when the series has no state.
   */
  seriesPhase(rule: string, key: string): Phase | undefined {
    return this.rules?.phaseOf(rule, key);
  }
}

/** The network side's uid (its processes are the engine's own: never captured on request), if the user exists. */
function networkUid(user: string): number | undefined {
  try {
    return lookupUser(user)?.uid;
  } catch {
    return undefined; // no /etc/passwd: the probe side's own pid and children are still refused
  }
}

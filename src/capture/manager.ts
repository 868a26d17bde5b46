/**
 * The capture manager: incident → deep probes on the offender, time-boxed → bundle.
 * - One prepared instance per probe is kept ready (open + load done ahead), so a trip pays only for the attach;
 *   a used instance is replaced in the background right after the attach.
 * - One capture per incident key at a time: a trip while its capture runs joins it (same promise).
 * - A global cap on concurrent captures (CAPTURE_ERR_BUSY past it) and on the probes' total in-kernel CPU:
 *   a new capture's probes are skipped while the cap is exceeded, and a running capture is cut when the total
 *   stays above it; both are recorded in the manifest.
 * - stop(): running captures are cut, marked partial and still bundled.
 * Events: `started` {key, probes}, `attached` {key, attached, tripToAttachMs}, `finished` BundleRef, `failed` {key, error}.
 */
import { EventEmitter } from 'node:events';
import { TriplineError } from '../errors.ts';
import type { Incident, IncidentTarget } from '../incident.ts';
import type { DeepProbe, PreparedProbe, ProbeSettings, ProbeTarget } from '../probes/deep/types.ts';
import type { Rule } from '../rules/types.ts';
import type { HistoryPoint } from '../sampler/history.ts';
import type { BundleRef } from '../bundle/types.ts';
import { budgetFor } from './budget.ts';
import { defaultProbes, probePlan, probesFrom, type PlannedProbe } from '../rules/plan.ts';
import { bundleOutcome } from './bundle-outcome.ts';
import type { CgroupNamer } from './diagnosis.ts';
import { CaptureRun } from './run.ts';
import { captureKey, offenderIds, resolveTarget } from './scope.ts';
import type { OffenderWatch } from './watch-list.ts';
import type { CaptureScope, ContributionSource } from '../rules/contributors.ts';

export { probeTarget } from './scope.ts';

export interface CaptureManagerOptions {
  /** The deep probe catalog (src/probes/deep/index.ts), or any set of DeepProbes. */
  readonly registry: Readonly<Record<string, DeepProbe>>;
  readonly objDir: string;
  readonly redact: boolean;
  /** Binaries and what rules may run, from the engine config. @defaultValue DEFAULT_PROBE_SETTINGS */
  readonly settings?: ProbeSettings;
  readonly bundlesDir: string;
  /** config.capture.max_concurrent */
  readonly maxConcurrent: number;
  /** config.capture.max_cpu_percent: percent of one core for all running probes together. */
  readonly maxCpuPercent: number;
  /** config.capture.duration in ms: the time box when the rule sets none. */
  readonly defaultDurationMs: number;
  /**
   * The sampler's per-cgroup history (before/after comparison and diagnosis) and its per-cgroup totals of a signal
   * over a window (the top contributors of a host-wide trip).
   */
  readonly history?: { history(cgroupId: string, sinceMs: number): HistoryPoint[]; contributions?: ContributionSource };
  /** The offenders of firing incidents on the in-kernel syscall watch list (a trip adds, `resolved` removes). */
  readonly watch?: OffenderWatch;
  /** Baseline window before the trip. @defaultValue 5 minutes */
  readonly historyMs?: number;
  /** Names of a cgroup path (the engine's pod directory): findings name the neighbours by them. */
  readonly nameOf?: CgroupNamer;
  /** Probes kept prepared. @defaultValue every probe of the registry */
  readonly warm?: readonly string[];
  /** Interval of the CPU cap check. @defaultValue 250 ms */
  readonly cpuCheckMs?: number;
  /**
   * Turns on the kernel's per-program run-time statistics while captures run (libbpf's `enableStats`), so the
   * probes can report their CPU and the cap can hold. Without it the cap sees only what probes report otherwise.
   */
  readonly enableStats?: () => { close(): void };
}

/** A capture to run: for an incident (with its rule), or by hand (target, probes, duration). */
export interface CaptureRequest {
  readonly incident?: Incident;
  readonly rule?: Rule;
  readonly target?: IncidentTarget;
  /** The probes to run with their time box and options; by default the plan of `rule` (src/rules/plan.ts `probePlan`,
   * the one `tripline test` shows), or the fallback probes without a rule. */
  readonly plan?: readonly PlannedProbe[];
  /** Overrides the plan's probes (CLI), without options. */
  readonly probes?: readonly string[];
  readonly durationMs?: number;
  /** Every task on the host (a node-level requested capture), instead of a target. */
  readonly hostWide?: boolean;
  /** The key to run under (one capture per key); @defaultValue the incident's key, else `manual:<target>` */
  readonly key?: string;
  /** When the trip happened (ms); defaults to the call time. trip→attached is measured from it. */
  readonly tripAt?: number;
}

interface Active {
  readonly key: string;
  readonly run: CaptureRun;
  lastCpu: number;
  over: number;
}

/** Runs captures; see the module comment for the rules it keeps. */
export class CaptureManager extends EventEmitter {
  private readonly opts: CaptureManagerOptions;
  private readonly ready = new Map<string, PreparedProbe>();
  private readonly unavailableProbes = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<BundleRef>>();
  private readonly active = new Set<Active>();
  private monitor: NodeJS.Timeout | undefined;
  private cpuInUse = 0;
  private stopped = false;
  private stats: { close(): void } | undefined;
  private readonly refillQueue: string[] = [];
  private refillTimer: NodeJS.Timeout | undefined;
  /** Why run-time statistics could not be enabled (recorded in each bundle's errors). */
  private statsError: string | undefined;

  constructor(opts: CaptureManagerOptions) {
    super();
    this.opts = opts;
  }

  /** Prepares the warm pool. Probes that cannot run here are remembered with the reason (see `unavailable`). */
  start(): void {
    for (const name of this.opts.warm ?? Object.keys(this.opts.registry)) this.refill(name);
  }

  /** Probes that failed to prepare, with the reason. */
  get unavailable(): ReadonlyMap<string, string> {
    return this.unavailableProbes;
  }

  /** Captures running now. */
  get running(): number {
    return this.inflight.size;
  }

  /** Starts (or joins) the capture of an incident or a hand-run target; resolves with the written bundle. */
  capture(req: CaptureRequest): Promise<BundleRef> {
    const tripAt = req.tripAt ?? Date.now();
    const key = captureKey(req);
    const joined = this.inflight.get(key);
    if (joined) return joined;
    try {
      const busy = this.refusal();
      if (busy)
        throw new TriplineError('CAPTURE_ERR_BUSY', busy, {
          hint: this.stopped
            ? 'captures resume when the engine starts again'
            : 'raise capture.max_concurrent in tripline.yaml, or narrow the rules that capture',
        });
      const resolved = resolveTarget(req, this.contributions(), this.opts.nameOf);
      if (req.incident && req.rule) this.opts.watch?.add(key, offenderIds(resolved.target));
      const promise = this.begin(key, req, resolved.target, resolved.scope, tripAt);
      this.inflight.set(key, promise);
      const forget = (): void => {
        this.inflight.delete(key);
      };
      promise.then(forget, forget);
      return promise;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Why a new capture would be refused now (stopping, the concurrency cap), or undefined. */
  refusal(): string | undefined {
    if (this.stopped) return 'the capture manager is stopping';
    if (this.inflight.size >= this.opts.maxConcurrent)
      return `${this.inflight.size} captures running, the cap is ${this.opts.maxConcurrent} (capture.max_concurrent)`;
    return undefined;
  }

  /** Moves the deadline of the capture running under `key` `ms` later; the new deadline, or undefined (none running). */
  extend(key: string, ms: number): number | undefined {
    for (const a of this.active) if (a.key === key && a.run.extend(ms)) return a.run.deadlineAt;
    return undefined;
  }

  /**
   * An incident fired: its offenders (its cgroup, or a host-wide trip's top contributors) go on the syscall watch
   * list, whether or not a capture runs (the pipeline calls this for every trip; a capture adds them too).
   */
  fired(incident: Incident, rule: Rule): void {
    if (!this.opts.watch) return;
    try {
      this.opts.watch.add(incident.key, offenderIds(resolveTarget({ incident, rule }, this.contributions()).target));
    } catch {
      /* no target at all (CAPTURE_ERR_TARGET): nothing to watch */
    }
  }

  /** An incident resolved: its offenders leave the syscall watch list (config capture.watch_offenders). */
  resolved(key: string): void {
    this.opts.watch?.remove(key);
  }

  private contributions(): ContributionSource | undefined {
    const h = this.opts.history;
    return h?.contributions ? (...a) => h.contributions!(...a) : undefined;
  }

  /** Cuts every running capture (bundled as partial), waits for the bundles, frees the warm pool. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const a of this.active) void a.run.cut('engine stopping');
    await Promise.allSettled([...this.inflight.values()]);
    if (this.refillTimer) clearTimeout(this.refillTimer);
    this.refillTimer = undefined;
    for (const p of this.ready.values()) p.close();
    this.ready.clear();
    this.stats?.close();
    this.stats = undefined;
    if (this.monitor) clearInterval(this.monitor);
    this.monitor = undefined;
  }

  private begin(
    key: string,
    req: CaptureRequest,
    target: ProbeTarget,
    scope: CaptureScope,
    tripAt: number,
  ): Promise<BundleRef> {
    const rule = req.rule;
    const planned = this.planOf(req);
    const probes = planned.map((p) => p.name);
    const options = new Map(planned.map((p) => [p.name, p.options]));
    const from = req.probes ? 'cli' : rule ? probesFrom(rule) : 'defaults';
    const durationMs = req.durationMs ?? planned[0]?.durationMs ?? this.opts.defaultDurationMs;
    const skip = new Map<string, string>();
    for (const p of probes) {
      if (!Object.hasOwn(this.opts.registry, p)) skip.set(p, 'not in the deep probe catalog');
      else if (this.cpuInUse >= this.opts.maxCpuPercent)
        skip.set(
          p,
          `probe CPU cap reached (${this.cpuInUse.toFixed(1)}% of a core in use, cap ${this.opts.maxCpuPercent}%)`,
        );
    }
    this.emit('started', { key, probes });
    const used: string[] = [];
    const run = new CaptureRun({
      probes,
      durationMs,
      target,
      skip,
      budgetOf: (p) => budgetFor(this.opts.registry[p], durationMs),
      acquire: (p) => {
        used.push(p);
        return this.acquire(p, { ...(options.get(p) ?? {}) });
      },
    });
    const active: Active = { key, run, lastCpu: 0, over: 0 };
    this.active.add(active);
    this.holdStats();
    this.ensureMonitor();
    this.emit('attached', { key, attached: run.attached, tripToAttachMs: run.attachedAt - tripAt });
    // Replace the used instances after the attach, so the next trip finds them ready.
    this.scheduleRefill(used);

    return run.done
      .then(async (outcome) => {
        this.active.delete(active);
        if (this.active.size === 0) {
          this.stats?.close();
          this.stats = undefined;
        }
        const ref = await bundleOutcome(
          {
            ...this.opts,
            historyMs: this.opts.historyMs ?? 300_000,
            incident: req.incident,
            rule,
            target: req.target,
            probesFrom: from,
            durationMs: run.deadlineAt - run.attachedAt, // the time box, with any extension
            tripAt,
            scope,
            statsError: this.statsError,
          },
          outcome,
        );
        this.emit('finished', ref);
        return ref;
      })
      .catch((err: unknown) => {
        this.emit('failed', { key, error: err });
        throw err;
      });
  }

  /** The probes of a request: the CLI's names, the given plan, the rule's plan, or the fallback. */
  private planOf(req: CaptureRequest): readonly PlannedProbe[] {
    const durationMs = req.durationMs ?? this.opts.defaultDurationMs;
    if (req.probes) return req.probes.map((name) => ({ name, durationMs, options: {} }));
    if (req.plan) return req.plan;
    if (req.rule) return probePlan(req.rule, this.opts.defaultDurationMs);
    return defaultProbes([]).map((name) => ({ name, durationMs, options: {} }));
  }

  /** Keeps run-time statistics on while any capture runs (after the attach: it must not delay it). */
  private holdStats(): void {
    if (this.stats || !this.opts.enableStats) return;
    try {
      this.stats = this.opts.enableStats();
      this.statsError = undefined;
    } catch (err) {
      this.statsError = (err as Error).message;
    }
  }

  /** A prepared instance: from the pool when the rule passes no options, else prepared now (slower trip). */
  private acquire(name: string, options: Record<string, unknown>): PreparedProbe {
    if (Object.keys(options).length === 0) {
      const p = this.ready.get(name);
      if (p) {
        this.ready.delete(name);
        return p;
      }
    }
    return this.opts.registry[name].prepare({
      objDir: this.opts.objDir,
      redact: this.opts.redact,
      options,
      settings: this.opts.settings,
    });
  }

  /**
   * Prepares the names one per event-loop turn: a prepare (BPF load and verification) blocks for 50–400 ms, and
   * running captures need the loop between them (ring buffer polls, the deadline check, the CPU meter).
   */
  private scheduleRefill(names: readonly string[]): void {
    for (const n of names) if (!this.refillQueue.includes(n)) this.refillQueue.push(n);
    if (this.refillTimer) return;
    const next = (): void => {
      const name = this.refillQueue.shift();
      if (name !== undefined && !this.ready.has(name)) this.refill(name);
      this.refillTimer = this.refillQueue.length > 0 && !this.stopped ? setTimeout(next, 0) : undefined;
    };
    this.refillTimer = setTimeout(next, 0);
  }

  private refill(name: string): void {
    if (this.stopped || this.ready.has(name)) return;
    const probe = this.opts.registry[name];
    if (!probe) {
      this.unavailableProbes.set(name, 'not in the deep probe catalog');
      return;
    }
    try {
      this.ready.set(
        name,
        probe.prepare({
          objDir: this.opts.objDir,
          redact: this.opts.redact,
          options: {},
          settings: this.opts.settings,
        }),
      );
      this.unavailableProbes.delete(name);
    } catch (err) {
      this.unavailableProbes.set(name, (err as Error).message);
    }
  }

  /** Every cpuCheckMs while captures run: sum the probes' CPU; cut the heaviest capture after two checks over the cap. */
  private ensureMonitor(): void {
    if (this.monitor) return;
    this.monitor = setInterval(() => {
      if (this.active.size === 0) {
        clearInterval(this.monitor);
        this.monitor = undefined;
        this.cpuInUse = 0;
        return;
      }
      let total = 0;
      for (const a of this.active) {
        a.lastCpu = a.run.cpuPercent();
        total += a.lastCpu;
      }
      this.cpuInUse = total;
      if (total <= this.opts.maxCpuPercent) {
        for (const a of this.active) a.over = 0;
        return;
      }
      const heaviest = [...this.active].sort((x, y) => y.lastCpu - x.lastCpu)[0];
      if (++heaviest.over >= 2) {
        void heaviest.run.cut(
          `probe CPU ${total.toFixed(1)}% of a core, over the cap of ${this.opts.maxCpuPercent}% (capture.max_cpu_percent)`,
        );
      }
    }, this.opts.cpuCheckMs ?? 250);
    this.monitor.unref();
  }
}

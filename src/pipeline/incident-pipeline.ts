/**
 * The incident pipeline: what carries an incident after a rule emits it. Each step is reported to the network side
 * (the outlet), which records it and queues the rule's actions: a firing incident is captured (when its rule's plan
 * has deep probes) and bundled, then its actions are dispatched with the bundle; a resolved one dispatches the
 * resolve actions. Work is chained per incident key, so a resolve never
 * overtakes its trip's capture and actions. The rule an incident fired under is kept until it resolves, so a
 * reload that removes the rule still delivers the resolve with that rule's actions.
 */
import { TriplineError } from '../errors.ts';
import type { Incident } from '../incident.ts';
import type { Logger } from '../log.ts';
import type { BundleRef } from '../bundle/types.ts';
import type { CaptureManager } from '../capture/manager.ts';
import { planFor } from '../rules/plan.ts';
import type { Rule } from '../rules/types.ts';
import { ruleActionsHash } from '../rules/actions-hash.ts';
import { CAPTURE_PHASES, type CaptureEvent, type IncidentReport, type PipelineEvents } from './events.ts';

/** Listeners of the pipeline's events (the engine re-emits them). */
export type PipelineListeners = { readonly [K in keyof PipelineEvents]?: (...args: PipelineEvents[K]) => void };

/** What a pipeline is built from. */
export interface IncidentPipelineOptions {
  readonly log: Logger;
  /**
   * Where each step of an incident goes: the network side, which records it for /api/incidents and queues the
   * rule's actions when the report says `dispatch` (NetworkSide.record in this process, the channel in `tripline run`).
   */
  readonly outlet: (report: IncidentReport) => void | Promise<void>;
  /**
   * The capture manager; without one, incidents go to their actions without a bundle. `fired` and `resolved`
   * (optional) put a trip's offenders on the syscall watch list and take them off at its resolve.
   */
  readonly capture?: Pick<CaptureManager, 'capture' | 'on'> & Partial<Pick<CaptureManager, 'fired' | 'resolved'>>;
  /** config.capture.duration in ms: the time box of a rule that sets none (for its capture plan). */
  readonly captureDurationMs: number;
  /** The running rule of a name (the rule runtime's); a rule gone by a reload is looked up among the firing ones. */
  readonly ruleOf: (name: string) => Rule | undefined;
  readonly on?: PipelineListeners;
}

/** Carries incidents from the rules to the network side: see the module comment. */
export class IncidentPipeline {
  private readonly opts: IncidentPipelineOptions;
  /** Per incident key: the chain of work (capture, then actions), so a resolve never overtakes its trip. */
  private readonly chains = new Map<string, Promise<void>>();
  /** The rule an incident fired under (a reload may remove the rule before the resolve). */
  private readonly firingRules = new Map<string, Rule>();

  constructor(opts: IncidentPipelineOptions) {
    this.opts = opts;
    const { capture, on } = opts;
    for (const phase of CAPTURE_PHASES)
      capture?.on(phase, (e: object) => on?.capture?.({ phase, ...e } as CaptureEvent));
  }

  /** Whether an incident of this key fires now (a capture request may join it). */
  firing(key: string): boolean {
    return this.firingRules.has(key);
  }

  /** Incident keys with capture or dispatch work in flight. */
  get inFlight(): number {
    return this.chains.size;
  }

  /** Takes one incident from the rules: records it, then chains its capture and actions behind its key's earlier work. */
  handle(inc: Incident): void {
    const { log } = this.opts;
    log.info(
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
    this.opts.on?.incident?.(inc);
    const rule = this.ruleFor(inc);
    const prev = this.chains.get(inc.key) ?? Promise.resolve();
    if (!rule) {
      // Recorded all the same (the API shows it), with no actions to run.
      this.chain(
        inc.key,
        prev.then(() => this.opts.outlet({ incident: inc, capture: 'none' })),
      );
      return;
    }
    if (inc.status === 'firing') {
      this.firingRules.set(inc.key, rule);
      this.opts.capture?.fired?.(inc, rule);
    }
    this.chain(
      inc.key,
      prev.then(() =>
        inc.status === 'firing'
          ? this.onFiring(inc, rule)
          : this.opts.outlet({ incident: inc, capture: 'none', dispatch: 'resolved', ruleHash: ruleActionsHash(rule) }),
      ),
      () => {
        if (inc.status !== 'resolved') return;
        this.firingRules.delete(inc.key);
        this.opts.capture?.resolved?.(inc.key);
      },
    );
  }

  /** Makes `work` the key's chain (errors logged), removed once it is the last. */
  private chain(key: string, work: Promise<void>, after?: () => void): void {
    const next = work.catch((err) =>
      this.opts.log.error({ key, err: (err as Error)?.message }, 'incident handling failed'),
    );
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
      after?.();
    });
  }

  /** Waits for the work in flight (captures being bundled, actions being enqueued), at most `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => {
      timer = setTimeout(r, timeoutMs);
      timer.unref();
    });
    await Promise.race([Promise.allSettled([...this.chains.values()]), timeout]);
    clearTimeout(timer);
  }

  /** The rule a firing incident's actions and capture follow. */
  private ruleFor(inc: Incident): Rule | undefined {
    return this.opts.ruleOf(inc.rule) ?? this.firingRules.get(inc.key);
  }

  private async onFiring(inc: Incident, rule: Rule): Promise<void> {
    const { capture, log, outlet } = this.opts;
    const ruleHash = ruleActionsHash(rule);
    if (!capture || planFor(rule, inc, this.opts.captureDurationMs).probes.length === 0)
      return outlet({ incident: inc, capture: 'none', dispatch: 'firing', ruleHash });
    await outlet({ incident: inc, capture: 'running' });
    let bundle: BundleRef;
    try {
      bundle = await capture.capture({ incident: inc, rule, tripAt: Date.parse(inc.firedAt) });
    } catch (err) {
      const captureError = err instanceof TriplineError ? err.describe() : String((err as Error)?.message ?? err);
      log.warn({ incident: inc.id, err: captureError }, 'capture failed; actions run without a bundle');
      return outlet({ incident: inc, capture: 'failed', captureError, dispatch: 'firing', ruleHash });
    }
    log.info(
      { incident: inc.id, bundle: bundle.dir, partial: bundle.partial, cause: bundle.findings.diagnosis?.cause },
      'bundle written',
    );
    return outlet({ incident: inc, capture: 'done', bundle, dispatch: 'firing', ruleHash });
  }
}

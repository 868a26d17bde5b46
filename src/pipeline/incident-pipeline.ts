/**
 * The incident pipeline: what carries an incident after a rule emits it. A firing incident is recorded in the
 * incident log, captured (when its rule's plan has deep probes), bundled, and its rule's actions are enqueued with
 * the bundle; a resolved one enqueues the resolve actions. Work is chained per incident key, so a resolve never
 * overtakes its trip's capture and actions. The rule an incident fired under is kept until it resolves, so a
 * reload that removes the rule still delivers the resolve with that rule's actions.
 */
import { TriplineError } from '../errors.ts';
import type { Incident } from '../incident.ts';
import type { IncidentLog } from '../incident-log.ts';
import type { Logger } from '../log.ts';
import type { BundleRef } from '../bundle/types.ts';
import type { CaptureManager } from '../capture/manager.ts';
import { planFor } from '../rules/plan.ts';
import type { Rule } from '../rules/types.ts';
import { dispatch } from '../actions/dispatcher.ts';
import type { ActionQueue } from '../actions/queue.ts';
import type { ActionEvent } from '../actions/types.ts';
import { CAPTURE_PHASES, type CaptureEvent, type PipelineEvents } from './events.ts';

/** Listeners of the pipeline's events (the engine re-emits them). */
export type PipelineListeners = { readonly [K in keyof PipelineEvents]?: (...args: PipelineEvents[K]) => void };

/** What a pipeline is built from. */
export interface IncidentPipelineOptions {
  readonly log: Logger;
  /** Where each incident, its capture and its actions' outcomes are recorded (the /api/incidents view). */
  readonly incidents: IncidentLog;
  /** The action queue (its `onSettled` is subscribed to). */
  readonly queue: Pick<ActionQueue, 'enqueue' | 'onSettled'>;
  /** The capture manager; without one, incidents go to their actions without a bundle. */
  readonly capture?: Pick<CaptureManager, 'capture' | 'on'>;
  /** config.capture.duration in ms: the time box of a rule that sets none (for its capture plan). */
  readonly captureDurationMs: number;
  /** The running rule of a name (the rule runtime's); a rule gone by a reload is looked up among the firing ones. */
  readonly ruleOf: (name: string) => Rule | undefined;
  readonly on?: PipelineListeners;
}

/** Carries incidents from the rules to capture, bundle and actions; see the module comment. */
export class IncidentPipeline {
  private readonly opts: IncidentPipelineOptions;
  /** Per incident key: the chain of work (capture, then actions), so a resolve never overtakes its trip. */
  private readonly chains = new Map<string, Promise<void>>();
  /** The rule an incident fired under (a reload may remove the rule before the resolve). */
  private readonly firingRules = new Map<string, Rule>();
  private readonly unsubscribe: () => void;

  constructor(opts: IncidentPipelineOptions) {
    this.opts = opts;
    const { capture, queue, incidents, log, on } = opts;
    for (const phase of CAPTURE_PHASES)
      capture?.on(phase, (e: object) => on?.capture?.({ phase, ...e } as CaptureEvent));
    this.unsubscribe = queue.onSettled((s) => {
      incidents.action(
        s.job.incident.id,
        s.id,
        s.state === 'completed' ? `completed: ${s.summary}` : `failed: ${s.reason}`,
      );
      log[s.state === 'completed' ? 'info' : 'warn'](
        {
          job: s.id,
          action: s.job.spec.type,
          event: s.job.event,
          key: s.job.incident.key,
          result: s.state === 'completed' ? s.summary : s.reason,
        },
        'action settled',
      );
      on?.action?.(s);
    });
  }

  /** Incident keys with capture or dispatch work in flight. */
  get inFlight(): number {
    return this.chains.size;
  }

  /** Takes one incident from the rules: records it, then chains its capture and actions behind its key's earlier work. */
  handle(inc: Incident): void {
    const { incidents, log } = this.opts;
    incidents.upsert(inc);
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
    if (!rule) return;
    if (inc.status === 'firing') this.firingRules.set(inc.key, rule);
    const prev = this.chains.get(inc.key) ?? Promise.resolve();
    const next = prev
      .then(() => (inc.status === 'firing' ? this.onFiring(inc, rule) : this.dispatch(inc, rule, 'resolved')))
      .catch((err) => log.error({ key: inc.key, err: (err as Error)?.message }, 'incident handling failed'));
    this.chains.set(inc.key, next);
    void next.then(() => {
      if (this.chains.get(inc.key) === next) this.chains.delete(inc.key);
      if (inc.status === 'resolved') this.firingRules.delete(inc.key);
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

  /** Stops following the queue's settled jobs (after the queue closed). */
  close(): void {
    this.unsubscribe();
  }

  /** The rule a firing incident's actions and capture follow. */
  private ruleFor(inc: Incident): Rule | undefined {
    return this.opts.ruleOf(inc.rule) ?? this.firingRules.get(inc.key);
  }

  private async onFiring(inc: Incident, rule: Rule): Promise<void> {
    const { capture, incidents, log } = this.opts;
    let bundle: BundleRef | undefined;
    if (capture && planFor(rule, inc, this.opts.captureDurationMs).probes.length > 0) {
      const rec = incidents.get(inc.id);
      if (rec) rec.capture = 'running';
      try {
        bundle = await capture.capture({ incident: inc, rule, tripAt: Date.parse(inc.firedAt) });
        incidents.captured(inc.id, bundle);
        log.info(
          { incident: inc.id, bundle: bundle.dir, partial: bundle.partial, cause: bundle.findings.diagnosis?.cause },
          'bundle written',
        );
      } catch (err) {
        const message = err instanceof TriplineError ? err.describe() : String((err as Error)?.message ?? err);
        incidents.captured(inc.id, undefined, message);
        log.warn({ incident: inc.id, err: message }, 'capture failed; actions run without a bundle');
      }
    }
    await this.dispatch(inc, rule, 'firing', bundle);
  }

  private async dispatch(inc: Incident, rule: Rule, event: ActionEvent, bundle?: BundleRef): Promise<void> {
    const { incidents } = this.opts;
    for (const r of await dispatch(this.opts.queue, rule, inc, { event, bundle })) {
      // The in-process queue may run and settle a job before its enqueue returns: keep the settled state.
      if (incidents.get(inc.id)?.actions[r.id] === undefined) incidents.action(inc.id, r.id, 'queued');
    }
  }
}

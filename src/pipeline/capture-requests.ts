/**
 * The probe side's answer to `capture.request` and `capture.extend` (interface: src/capture/request-schema.ts).
 * A request comes from the network side, the side to distrust, so everything is checked here again: the rate
 * (REQUESTS_PER_MINUTE), the probes (in the catalog, no bpftrace), the target (resolved on this host:
 * src/capture/request-target.ts; with a join, the joined incident's own target, which the request's must name), the
 * policy (config capture.requests, never the engine itself: src/capture/request-policy.ts), the duration
 * (REQUEST_MIN_MS..REQUEST_MAX_MS; extensions at most EXTENDS_PER_MINUTE, the capture's deadline within
 * EXTENDED_MAX_MS of its attach, kept by the capture manager per capture whoever asks) and the capture manager's own
 * caps (concurrency, probe CPU). An accepted request becomes an incident of its own (rule `name`, the request's
 * labels, then the target's names as this side resolved them), whose capture runs
 * like a rule's and is reported the usual way (running, then done with its bundle or failed), each report naming
 * the request; the actions are the requester's to run.
 */
import { createHash } from 'node:crypto';
import type { BundleRef } from '../bundle/types.ts';
import type { CaptureManager } from '../capture/manager.ts';
import {
  CaptureExtendSchema,
  CaptureRequestSchema,
  REQUEST_MAX_MS,
  REQUEST_MIN_MS,
  type CaptureExtendMsg,
  type CaptureExtendReply,
  type CaptureReply,
  type CaptureRequestMsg,
  type CaptureTargetSpec,
  type RefusalCode,
} from '../capture/request-schema.ts';
import {
  resolveRequestTarget,
  targetMatches,
  type TargetLookup,
  type TargetResolution,
} from '../capture/request-target.ts';
import { policyRefusal, procView, type ProcessView } from '../capture/request-policy.ts';
import { CaptureRequestsPolicySchema, type CaptureRequestsPolicy } from '../capture/schema/requests.ts';
import { TriplineError } from '../errors.ts';
import { incidentKey, type Incident, type IncidentTarget } from '../incident.ts';
import type { Logger } from '../log.ts';
import { FALLBACK_PROBES } from '../rules/plan.ts';
import type { IncidentReport } from './events.ts';

/**
 * Requests (accepted or refused) per minute: a flood from a compromised network side stays a trickle of work. The
 * captures themselves are bounded by the capture manager (concurrency, probe CPU).
 */
export const REQUESTS_PER_MINUTE = 120;
/** Extensions (accepted or refused) per minute, all captures together. */
export const EXTENDS_PER_MINUTE = 60;
/** Probes a request may never name: bpftrace runs a program, and a request carries none. */
const NOT_REQUESTABLE = new Set(['bpftrace']);

export interface CaptureRequestsOptions {
  readonly capture: Pick<CaptureManager, 'capture' | 'extend' | 'refusal'>;
  /** The deep probes that may run (the catalog). */
  readonly probes: readonly string[];
  readonly lookup: TargetLookup;
  readonly host: string;
  /** config capture.duration in ms (clamped to the request bounds). */
  readonly defaultDurationMs: number;
  /** Where each step of the incident goes (the network side), as the incident pipeline's outlet. */
  readonly outlet: (r: IncidentReport) => void | Promise<void>;
  /** The firing incident of this key, if any (a join must name one; the capture takes its target). */
  readonly firing: (key: string) => Incident | undefined;
  /** config capture.requests. @defaultValue its defaults */
  readonly policy?: CaptureRequestsPolicy;
  /** The host's processes as the policy reads them. @defaultValue /proc (lookup.proc), this process the probe side */
  readonly procs?: ProcessView;
  readonly log: Logger;
  readonly now?: () => number;
}

/** Handles capture requests; see the module comment. */
export class CaptureRequests {
  readonly #o: CaptureRequestsOptions;
  /** Capture id → the key its capture runs under. */
  readonly #running = new Map<string, string>();
  readonly #rate = { windowAt: 0, n: 0 };
  readonly #extends = { windowAt: 0, n: 0 };
  readonly #policy: CaptureRequestsPolicy;
  readonly #procs: ProcessView;
  #seq = 0;

  constructor(o: CaptureRequestsOptions) {
    this.#o = o;
    this.#policy = o.policy ?? CaptureRequestsPolicySchema.parse({});
    this.#procs = o.procs ?? procView({ proc: o.lookup.proc, version: o.lookup.mount?.version });
  }

  /** Requested captures running now. */
  get running(): number {
    return this.#running.size;
  }

  /** Starts the capture a request asks for, or says why not. Checked against the schema here too (in one process). */
  request(raw: CaptureRequestMsg): CaptureReply {
    const o = this.#o;
    const parsed = CaptureRequestSchema.safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      return { accepted: false, code: 'bad_target', reason: `${i?.path.join('.')}: ${i?.message}`.slice(0, 2000) };
    }
    const req = parsed.data;
    const now = (o.now ?? Date.now)();
    const refused = (code: RefusalCode, reason: string): CaptureReply => {
      o.log.warn({ source: req.source, target: req.target, code, reason }, 'capture request refused');
      return { accepted: false, code, reason };
    };
    if (overRate(this.#rate, now, REQUESTS_PER_MINUTE))
      return refused('rate', `over ${REQUESTS_PER_MINUTE} capture requests this minute`);
    const probes = req.probes ? [...new Set(req.probes)] : [...FALLBACK_PROBES];
    const bad = probes.filter((p) => !o.probes.includes(p) || NOT_REQUESTABLE.has(p));
    if (bad.length > 0)
      return refused(
        'bad_probes',
        `${bad.join(', ')}: not a deep probe a request may run (${o.probes.filter((p) => !NOT_REQUESTABLE.has(p)).join(', ')})`,
      );
    let resolved: TargetResolution;
    if (req.join) {
      // The capture is the joined incident's: of its own target, which the request must name.
      const joined = o.firing(req.join.key);
      if (!joined)
        return refused('join', 'the incident to join is not firing on this host (resolved, or another host’s)');
      resolved = joinedTarget(req.target, joined.target, o.lookup);
    } else resolved = resolveRequestTarget(req.target, o.lookup);
    if (!resolved.ok) return refused(resolved.code, resolved.reason);
    const denied = policyRefusal(
      this.#policy,
      { kind: req.target.kind, probes, target: resolved.target, hostWide: resolved.hostWide },
      this.#procs,
      o.probes,
    );
    if (denied) return refused('policy', denied);
    const why = o.capture.refusal();
    if (why) return refused('busy', why);
    const durationMs = Math.min(REQUEST_MAX_MS, Math.max(REQUEST_MIN_MS, req.durationMs ?? o.defaultDurationMs));
    const incident = this.#incident(req, resolved.target, now);
    const key = incident.key;
    const request = { captureId: incident.id, source: req.source };
    const bundle = o.capture.capture({
      incident,
      key,
      target: resolved.target,
      hostWide: resolved.hostWide,
      probes,
      durationMs,
      tripAt: now,
    });
    this.#running.set(incident.id, key);
    void this.#report(incident, request, bundle);
    o.log.info(
      { captureId: incident.id, source: req.source, key, probes, durationMs, target: resolved.target },
      'capture request accepted',
    );
    const t = resolved.target;
    return {
      accepted: true,
      captureId: incident.id,
      incidentId: incident.id,
      key,
      durationMs,
      probes,
      target: {
        ...(t.cgroupPath ? { cgroupPath: t.cgroupPath } : {}),
        ...(t.cgroupId ? { cgroupId: t.cgroupId } : {}),
        ...(t.pids ? { pids: [...t.pids] } : {}),
        ...(resolved.hostWide ? { hostWide: true } : {}),
      },
    };
  }

  /**
   * Moves a running requested capture's deadline later: at most EXTENDS_PER_MINUTE extensions, and the capture
   * manager keeps the capture within EXTENDED_MAX_MS of its attach (per capture, however many requests joined it).
   */
  extend(req: CaptureExtendMsg): CaptureExtendReply {
    if (!CaptureExtendSchema.safeParse(req).success)
      return { extended: false, code: 'limit', reason: 'capture.extend: a capture id and 1..120 seconds' };
    if (overRate(this.#extends, (this.#o.now ?? Date.now)(), EXTENDS_PER_MINUTE))
      return { extended: false, code: 'rate', reason: `over ${EXTENDS_PER_MINUTE} capture extensions this minute` };
    const key = this.#running.get(req.captureId);
    if (key === undefined)
      return { extended: false, code: 'unknown', reason: `no requested capture ${req.captureId} running` };
    return this.#o.capture.extend(key, req.seconds * 1000);
  }

  /** The incident a request becomes: its own rule name, labels and key, or the joined incident's key. */
  #incident(req: CaptureRequestMsg, target: Incident['target'], now: number): Incident {
    const rule = req.name ?? `${req.source.kind}-capture`;
    const names: Record<string, string> = {};
    if (target.pod?.namespace) names.namespace = target.pod.namespace;
    if (target.pod?.name) names.pod = target.pod.name;
    if (target.container) names.container = target.container;
    if (target.cgroupPath) names.cgroup = target.cgroupPath;
    // The names this side resolved win over the request's labels (an alert cannot rename the pod it captured).
    const labels = { ...req.labels, ...names, requested_by: req.source.kind };
    const key =
      req.join?.key ??
      incidentKey(rule, { ...labels, request: `${req.source.kind}:${req.source.id}`, host: this.#o.host });
    const at = new Date(now).toISOString();
    const id = `${createHash('sha256').update(key).digest('hex').slice(0, 16)}-${now}-${++this.#seq}`;
    return {
      id,
      key,
      rule,
      status: 'firing',
      severity: req.severity ?? 'warning',
      labels,
      annotations: {
        summary:
          req.summary ?? `capture requested by ${req.source.kind}${req.source.who ? ` (${req.source.who})` : ''}`,
        ...(req.source.reason ? { reason: req.source.reason } : {}),
        ...(req.source.who ? { requested_by: req.source.who } : {}),
      },
      target,
      value: 0,
      threshold: 0,
      unit: '',
      stats: {},
      startsAt: at,
      firedAt: at,
      host: this.#o.host,
    };
  }

  /** Reports the capture's steps to the network side: running now, then done with its bundle or failed. */
  async #report(incident: Incident, request: IncidentReport['request'], bundle: Promise<BundleRef>): Promise<void> {
    const { outlet, log } = this.#o;
    try {
      await outlet({ incident, capture: 'running', request });
      let ref: BundleRef;
      try {
        ref = await bundle;
      } catch (err) {
        const captureError = err instanceof TriplineError ? err.describe() : String((err as Error)?.message ?? err);
        log.warn({ captureId: incident.id, err: captureError }, 'requested capture failed');
        await outlet({ incident, capture: 'failed', captureError, request });
        return;
      }
      log.info({ captureId: incident.id, bundle: ref.dir, partial: ref.partial }, 'requested capture bundled');
      await outlet({ incident, capture: 'done', bundle: ref, request });
    } catch (err) {
      log.error({ captureId: incident.id, err: (err as Error)?.message }, 'requested capture not reported');
    } finally {
      this.#running.delete(incident.id);
    }
  }
}

/** Counts one more in a one-minute window; whether the window is over `max`. */
function overRate(w: { windowAt: number; n: number }, now: number, max: number): boolean {
  if (now - w.windowAt >= 60_000) Object.assign(w, { windowAt: now, n: 0 });
  return ++w.n > max;
}

/**
 * The target of a request that joins an incident: the incident's own, which the request's must name (a node target
 * names an incident of no cgroup, pod, container or pid: a host-level one). Ids the incident lacks (a cgroup named
 * by path only) are filled from the request's target resolved on this host.
 */
function joinedTarget(spec: CaptureTargetSpec, t: IncidentTarget, lookup: TargetLookup): TargetResolution {
  const hostLevel = !t.cgroupId && !t.cgroupPath && !t.pids?.length && !t.pod && !t.containerId;
  if (spec.kind === 'node' && hostLevel) return { ok: true, target: t, hostWide: true };
  if (!targetMatches(spec, t))
    return { ok: false, code: 'join', reason: `the ${spec.kind} target is not the target of the incident to join` };
  if (t.cgroupId || t.pids?.length) return { ok: true, target: t };
  const local = resolveRequestTarget(spec, lookup);
  return local.ok ? { ok: true, target: { ...local.target, ...t } } : local;
}

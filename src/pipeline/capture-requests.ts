/**
 * The probe side's answer to `capture.request` and `capture.extend` (interface: src/capture/request-schema.ts).
 * A request comes from the network side, the side to distrust, so everything is checked here again: the rate
 * (REQUESTS_PER_MINUTE), the probes (in the catalog, no bpftrace), the join (a firing incident's key), the target
 * (resolved on this host: src/capture/request-target.ts), the duration (REQUEST_MIN_MS..REQUEST_MAX_MS, extensions
 * up to EXTENDED_MAX_MS in all) and the capture manager's own caps (concurrency, probe CPU). An accepted request
 * becomes an incident of its own (rule `name`, the request's labels and the target's names), whose capture runs
 * like a rule's and is reported the usual way (running, then done with its bundle or failed), each report naming
 * the request; the actions are the requester's to run.
 */
import { createHash } from 'node:crypto';
import type { BundleRef } from '../bundle/types.ts';
import type { CaptureManager } from '../capture/manager.ts';
import {
  CaptureExtendSchema,
  CaptureRequestSchema,
  EXTENDED_MAX_MS,
  REQUEST_MAX_MS,
  REQUEST_MIN_MS,
  type CaptureExtendMsg,
  type CaptureExtendReply,
  type CaptureReply,
  type CaptureRequestMsg,
  type RefusalCode,
} from '../capture/request-schema.ts';
import { resolveRequestTarget, type TargetLookup } from '../capture/request-target.ts';
import { TriplineError } from '../errors.ts';
import { incidentKey, type Incident } from '../incident.ts';
import type { Logger } from '../log.ts';
import { FALLBACK_PROBES } from '../rules/plan.ts';
import type { IncidentReport } from './events.ts';

/** Requests accepted or refused per minute: a flood from a compromised network side stays a trickle of captures. */
export const REQUESTS_PER_MINUTE = 30;
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
  /** Whether an incident with this key fires now (a join must name one). */
  readonly firing: (key: string) => boolean;
  readonly log: Logger;
  readonly now?: () => number;
}

interface Running {
  readonly key: string;
  readonly startedAt: number;
  readonly durationMs: number;
  extendedMs: number;
}

/** Handles capture requests; see the module comment. */
export class CaptureRequests {
  readonly #o: CaptureRequestsOptions;
  readonly #running = new Map<string, Running>();
  readonly #rate = { windowAt: 0, n: 0 };
  #seq = 0;

  constructor(o: CaptureRequestsOptions) {
    this.#o = o;
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
    if (now - this.#rate.windowAt >= 60_000) Object.assign(this.#rate, { windowAt: now, n: 0 });
    if (++this.#rate.n > REQUESTS_PER_MINUTE)
      return refused('rate', `over ${REQUESTS_PER_MINUTE} capture requests this minute`);
    const probes = req.probes ? [...new Set(req.probes)] : [...FALLBACK_PROBES];
    const bad = probes.filter((p) => !o.probes.includes(p) || NOT_REQUESTABLE.has(p));
    if (bad.length > 0)
      return refused(
        'bad_probes',
        `${bad.join(', ')}: not a deep probe a request may run (${o.probes.filter((p) => !NOT_REQUESTABLE.has(p)).join(', ')})`,
      );
    if (req.join && !o.firing(req.join.key))
      return refused('join', 'the incident to join is not firing on this host (resolved, or another host’s)');
    const why = o.capture.refusal();
    if (why) return refused('busy', why);
    const resolved = resolveRequestTarget(req.target, o.lookup);
    if (!resolved.ok) return refused(resolved.code, resolved.reason);
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
    this.#running.set(incident.id, { key, startedAt: now, durationMs, extendedMs: 0 });
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

  /** Moves a running requested capture's deadline later, up to EXTENDED_MAX_MS in all. */
  extend(req: CaptureExtendMsg): CaptureExtendReply {
    if (!CaptureExtendSchema.safeParse(req).success)
      return { extended: false, code: 'limit', reason: 'capture.extend: a capture id and 1..120 seconds' };
    const r = this.#running.get(req.captureId);
    if (!r) return { extended: false, code: 'unknown', reason: `no requested capture ${req.captureId} running` };
    const ms = req.seconds * 1000;
    if (r.durationMs + r.extendedMs + ms > EXTENDED_MAX_MS)
      return {
        extended: false,
        code: 'limit',
        reason: `a requested capture runs at most ${EXTENDED_MAX_MS / 1000} s (now ${(r.durationMs + r.extendedMs) / 1000} s)`,
      };
    const endsAt = this.#o.capture.extend(r.key, ms);
    if (endsAt === undefined)
      return { extended: false, code: 'unknown', reason: `capture ${req.captureId} is already stopping` };
    r.extendedMs += ms;
    return { extended: true, endsAt };
  }

  /** The incident a request becomes: its own rule name, labels and key, or the joined incident's key. */
  #incident(req: CaptureRequestMsg, target: Incident['target'], now: number): Incident {
    const rule = req.name ?? `${req.source.kind}-capture`;
    const names: Record<string, string> = {};
    if (target.pod?.namespace) names.namespace = target.pod.namespace;
    if (target.pod?.name) names.pod = target.pod.name;
    if (target.container) names.container = target.container;
    if (target.cgroupPath) names.cgroup = target.cgroupPath;
    const labels = { ...names, ...req.labels, requested_by: req.source.kind };
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

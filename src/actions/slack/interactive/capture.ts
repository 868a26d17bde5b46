/**
 * Capture again / Extend +30 s: a click becomes a `capture.request` (or `capture.extend`) through the channel to the
 * probe side, which owns the kernel and the capture limits and decides (src/capture/request-schema.ts). The request
 * names the incident's own target (its cgroup, else its pod, else a pid, else the node), the profile and offcpu
 * probes, the rule's capture duration (else the config's), and the person; the capture's reports come back naming the request, and
 * the bundle is posted in the incident's thread.
 */
import type { Incident } from '../../../incident.ts';
import type { BundleRef } from '../../../bundle/types.ts';
import {
  CaptureTargetSchema,
  REQUEST_MAX_MS,
  REQUEST_MIN_MS,
  type CaptureExtendMsg,
  type CaptureExtendReply,
  type CaptureReply,
  type CaptureRequestMsg,
  type CaptureTargetSpec,
  type RequestRef,
} from '../../../capture/request-schema.ts';
import type { MessageRef } from '../transport.ts';

/** What a click may ask for; the click handler calls these. Each returns the words for the thread. */
export interface CaptureRequests {
  /** A new scoped capture of the incident's target now (its bundle is posted in `thread` when done). */
  request(incident: Incident, by: string, thread: MessageRef, clickId: string): Promise<string>;
  /** Extends the capture a click started for the incident by EXTEND_SECONDS (within the capture limits). */
  extend(incident: Incident, by: string): Promise<string>;
}

/** The probe side's capture requests, as the network side reaches them (the channel, or direct calls). */
export interface CaptureChannel {
  request(r: CaptureRequestMsg): Promise<CaptureReply>;
  extend(r: CaptureExtendMsg): Promise<CaptureExtendReply>;
}

/** A report of a requested capture's incident (the part this module reads). */
export interface RequestedReport {
  readonly incident: Incident;
  readonly capture: 'none' | 'running' | 'done' | 'failed';
  readonly bundle?: BundleRef;
  readonly captureError?: string;
  readonly request?: RequestRef;
}

/** Seconds one Extend click adds. */
export const EXTEND_SECONDS = 30;
/** Probes of Capture again. */
export const CAPTURE_PROBES = ['profile', 'offcpu'];
/** Captures from clicks remembered (their threads), oldest dropped first. */
const MAX_TRACKED = 1000;

/** The incident's target as a capture target: the most precise form the request schema takes. */
export function captureTarget(i: Incident): CaptureTargetSpec {
  const t = i.target;
  const tries: unknown[] = [
    t.cgroupPath ? { kind: 'cgroup', path: t.cgroupPath } : undefined,
    t.pod?.namespace && t.pod.name
      ? { kind: 'pod', namespace: t.pod.namespace, pod: t.pod.name, ...(t.container ? { container: t.container } : {}) }
      : undefined,
    t.containerId ? { kind: 'container', id: t.containerId } : undefined,
    t.pids?.length ? { kind: 'pid', pid: t.pids[0] } : undefined,
  ];
  for (const x of tries) {
    if (x === undefined) continue;
    const p = CaptureTargetSchema.safeParse(x);
    if (p.success) return p.data;
  }
  return { kind: 'node' };
}

/** Capture requests from clicks over a capture channel; `deliver` posts a finished capture into its thread. */
export class SlackCaptures implements CaptureRequests {
  readonly #ch: CaptureChannel;
  readonly #durationOf: (rule: string) => number | undefined;
  readonly #deliver: (thread: MessageRef, r: RequestedReport) => Promise<void>;
  /** captureId → thread and incident key. */
  readonly #threads = new Map<string, { thread: MessageRef; key: string }>();
  /** incident key → the capture a click started (Extend's target). */
  readonly #running = new Map<string, string>();

  constructor(
    ch: CaptureChannel,
    durationOf: (rule: string) => number | undefined,
    deliver: (thread: MessageRef, r: RequestedReport) => Promise<void>,
  ) {
    this.#ch = ch;
    this.#durationOf = durationOf;
    this.#deliver = deliver;
  }

  async request(i: Incident, by: string, thread: MessageRef, clickId: string): Promise<string> {
    const name = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(i.rule) ? i.rule : undefined;
    const ms = this.#durationOf(i.rule);
    const r = await this.#ch.request({
      target: captureTarget(i),
      probes: CAPTURE_PROBES,
      // The rule's duration, within what a request may ask for; none: the probe side's capture.duration.
      ...(ms ? { durationMs: Math.min(REQUEST_MAX_MS, Math.max(REQUEST_MIN_MS, Math.round(ms))) } : {}),
      source: { kind: 'slack', id: clickId, who: by, reason: `Capture again on ${i.id}`.slice(0, 1024) },
      ...(name ? { name } : {}),
      severity: i.severity,
      summary: `Capture again of ${i.rule} asked from Slack`,
      join: { key: i.key },
    });
    if (!r.accepted) throw new Error(`capture refused (${r.code}): ${r.reason}`);
    this.#threads.set(r.captureId, { thread, key: i.key });
    this.#running.set(i.key, r.captureId);
    while (this.#threads.size > MAX_TRACKED) this.#threads.delete(this.#threads.keys().next().value!);
    while (this.#running.size > MAX_TRACKED) this.#running.delete(this.#running.keys().next().value!);
    return `Capturing ${r.probes.join(', ')} for ${Math.round(r.durationMs / 1000)} s (capture ${r.captureId})`;
  }

  async extend(i: Incident, _by: string): Promise<string> {
    const id = this.#running.get(i.key);
    if (!id) throw new Error('no capture asked from Slack runs for this incident');
    const r = await this.#ch.extend({ captureId: id, seconds: EXTEND_SECONDS });
    if (!r.extended) throw new Error(`not extended (${r.code}): ${r.reason}`);
    return `Capture extended by ${EXTEND_SECONDS} s, now ends ${new Date(r.endsAt).toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
  }

  /** True while a capture a click started for `key` runs. */
  running(key: string): boolean {
    return this.#running.has(key);
  }

  /** A report of a requested capture: when a click's capture ends, its bundle (or failure) goes to the thread. */
  async report(r: RequestedReport): Promise<void> {
    const id = r.request?.source.kind === 'slack' ? r.request.captureId : undefined;
    const t = id ? this.#threads.get(id) : undefined;
    if (!id || !t || (r.capture !== 'done' && r.capture !== 'failed')) return;
    this.#threads.delete(id);
    if (this.#running.get(t.key) === id) this.#running.delete(t.key);
    await this.#deliver(t.thread, r);
  }
}

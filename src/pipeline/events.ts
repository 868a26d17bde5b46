/**
 * Payloads of the events an incident's journey produces, as the engine re-emits them ('incident', 'capture',
 * 'action'): typed here so tools (the demo, tests) need not guess their shape.
 */
import type { Incident } from '../incident.ts';
import type { BundleRef } from '../bundle/types.ts';
import type { JobSettled } from '../actions/queue.ts';
import type { RequestRef } from '../capture/request-schema.ts';

/** One step of a capture, as the capture manager reports it (src/capture/manager.ts), tagged with its phase. */
export type CaptureEvent =
  | { readonly phase: 'started'; readonly key: string; readonly probes: readonly string[] }
  | {
      readonly phase: 'attached';
      readonly key: string;
      readonly attached: readonly string[];
      /** Trip to attach, in ms: the figure the warm pool exists for. */
      readonly tripToAttachMs: number;
    }
  | ({ readonly phase: 'finished' } & BundleRef)
  | { readonly phase: 'failed'; readonly key: string; readonly error: unknown };

/** The phases of a capture, in the order they happen ('failed' may replace 'attached' and 'finished'). */
export const CAPTURE_PHASES = ['started', 'attached', 'finished', 'failed'] as const;

/** Events of the incident pipeline, as an event map (name → listener arguments). */
export interface PipelineEvents {
  /** An incident fired or resolved (emitted before its capture and actions start). */
  incident: [incident: Incident];
  /** A capture of a firing incident moved on. */
  capture: [event: CaptureEvent];
  /** An action job of this process settled (completed, or failed for good). */
  action: [settled: JobSettled];
}

/**
 * One step of an incident as the pipeline hands it to the network side (in this process, or over the channel):
 * the incident's state for the log, and — with `dispatch` — the event whose actions to queue, under the rule
 * version `ruleHash` names.
 */
export interface IncidentReport {
  readonly incident: Incident;
  readonly capture: 'none' | 'running' | 'done' | 'failed';
  readonly bundle?: BundleRef;
  readonly captureError?: string;
  readonly dispatch?: 'firing' | 'resolved';
  readonly ruleHash?: string;
  /** The capture request this incident answers (capture.request): its requester runs the actions. */
  readonly request?: RequestRef;
}

/**
 * The messages of the channel between the probe side and the network side, one zod schema each, bounded in size.
 * What the network side sends (it parses network input, so it is the side to distrust) is narrow: metrics and
 * silence requests, each with small, strict payloads. What the probe side sends is data it produced (incidents,
 * bundle references, its rules' actions), validated on receipt all the same.
 */
import { z } from 'zod';
import { SilenceSpecSchema } from '../rules/parse/schema.ts';
import { BundleRefSchema, IncidentSchema } from '../incident-schema.ts';
import { PodSnapshotSchema } from '../pod-meta.ts';
import { SignalQuerySchema, SignalReadingSchema } from '../signal-read.ts';
import * as CR from '../capture/request-schema.ts';

/** Version of the message set; both sides must run the same. */
export const CHANNEL_VERSION = 1;

const str = (max: number) => z.string().max(max);
const id = str(256).min(1);

/** One rule's actions as the probe side loaded them: the network side rebuilds every job's spec from these. */
export const RuleActionsSchema = z.strictObject({
  name: str(256),
  /** Hash of the rule's definition: a job queued under another hash is not run with this rule's actions. */
  hash: str(128),
  source: z.strictObject({ file: str(4096), line: z.number().int() }),
  actions: z.array(z.looseObject({ type: str(64) })).max(64),
  /** The rule's capture duration (ms), for a capture asked from Slack (Capture again). */
  captureMs: z.number().int().min(0).max(3_600_000).optional(),
});

/** Probe side → network side. */
export const PROBE_TO_NET = {
  /** First message: versions must match; the frozen config (validated again there) and the API's token. */
  hello: z.strictObject({
    version: z.literal(CHANNEL_VERSION),
    host: str(256),
    pid: z.number().int(),
    config: z.record(z.string(), z.unknown()),
    apiToken: z.string().min(16).max(512),
  }),
  /** The probe side stops: flush the queue and exit (a channel closed without it is a crash). */
  bye: z.strictObject({}),
  /** The loaded rules' actions (at start and after each reload). */
  rules: z.strictObject({ rules: z.array(RuleActionsSchema).max(10_000) }),
  /** An incident to record and, with `dispatch`, whose rule's actions to queue. */
  incident: z.strictObject({
    incident: IncidentSchema,
    capture: z.enum(['none', 'running', 'done', 'failed']),
    bundle: BundleRefSchema.optional(),
    captureError: str(4096).optional(),
    /** Queue the rule's actions for this event now (absent: only record the incident's state). */
    dispatch: z.enum(['firing', 'resolved']).optional(),
    ruleHash: str(128).optional(),
    request: CR.RequestRefSchema.optional(),
  }),
  /** /readyz of the probe side. */
  ready: z.strictObject({ ready: z.union([z.literal(true), str(1024)]) }),
} as const;

/** Network side → probe side: where it listens, and requests, each narrow. */
export const NET_TO_PROBE = {
  /** Where the network side serves /metrics (notification, once it listens). */
  listening: z.strictObject({ host: str(256), port: z.number().int().min(0).max(65535) }),
  /** The pods on this node (notification, after each change of the network side's pod cache): names for cgroups. */
  pods: PodSnapshotSchema,
  /** The probe side's /metrics text (sampler, families, rules). */
  metrics: z.strictObject({}),
  'silences.list': z.strictObject({}),
  'silences.add': z.strictObject({ spec: SilenceSpecSchema }),
  'silences.remove': z.strictObject({ id }),
  'suppressed.list': z.strictObject({}),
  /** A rule's conditions re-read for one workload's series (scale verification): a rule name and label matchers. */
  'signal.read': SignalQuerySchema,
  /** A scoped capture asked for by an alert, a Slack button or the API (src/capture/request-schema.ts). */
  'capture.request': CR.CaptureRequestSchema,
  'capture.extend': CR.CaptureExtendSchema,
} as const;

/** Replies to the network side's requests. */
export const NET_REPLIES = {
  metrics: z.strictObject({ text: z.string(), contentType: str(256) }),
  'silences.list': z.strictObject({ silences: z.array(z.unknown()).max(100_000) }),
  'silences.add': z.strictObject({ silence: z.unknown() }),
  'silences.remove': z.strictObject({ removed: z.boolean() }),
  'suppressed.list': z.strictObject({ suppressed: z.array(z.unknown()).max(100_000) }),
  'signal.read': SignalReadingSchema,
  'capture.request': CR.CaptureReplySchema,
  'capture.extend': CR.CaptureExtendReplySchema,
} as const;

export type ProbeToNet = typeof PROBE_TO_NET;
export type NetToProbe = typeof NET_TO_PROBE;

/**
 * capture.request / capture.extend: a scoped capture asked for from outside the rules (an Alertmanager alert, a Slack
 * button, the API), as it crosses the channel from the network side (the side to distrust) to the probe side.
 *
 *   capture.request {target, probes?, durationMs?, source, name? (DNS label), labels?, severity?, summary?, join?}
 *     target: {kind:'cgroup', path} | {kind:'pid', pid} | {kind:'pod', namespace, pod, container?}
 *           | {kind:'container', id} | {kind:'node'}
 *     source: {kind:'alertmanager'|'slack'|'api', id (fingerprint, action id, …), who?, reason?}
 *     join:   {key}: the key of a firing tripline incident of the same target (the capture is that incident's,
 *             joined when one runs for it)
 *   → {accepted:true, captureId, incidentId, key, durationMs, probes, target}
 *   | {accepted:false, code, reason}   code: not_here | bad_target | bad_probes | busy | rate | join
 *   capture.extend {captureId, seconds} → {extended:true, endsAt} | {extended:false, code, reason}
 *
 * Then, the usual way, the probe side reports the capture's incident (firing, capture running, then done with the
 * bundle or failed), each report carrying `request` {captureId, source}: the requester on the network side sees
 * its bundle there and decides which actions to run. Every bound here is re-checked by the probe side
 * (src/pipeline/capture-requests.ts), which resolves the target on its own host and runs the capture through the
 * capture manager's caps.
 */
import { z } from 'zod';

/** Longest capture one request may ask for. */
export const REQUEST_MAX_MS = 120_000;
/** Shortest capture (below it the probes see little but their own attach). */
export const REQUEST_MIN_MS = 1_000;
/** Longest a capture may run with all its extensions. */
export const EXTENDED_MAX_MS = 300_000;
/** Probes one request may name. */
export const REQUEST_MAX_PROBES = 8;

const str = (max: number) => z.string().max(max);
/** DNS-1123 label (namespace, container). */
const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
/** DNS-1123 subdomain (pod names). */
const dnsSubdomain = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
/** A cgroup path relative to the cpu hierarchy's mount: segments of safe characters, no `.` or `..`. */
const cgroupPath = z
  .string()
  .max(4096)
  .regex(/^(\/[A-Za-z0-9_@:.\\-]+)+$/)
  .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), 'no . or .. segments');

/** Whom to capture. */
export const CaptureTargetSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('cgroup'), path: cgroupPath }),
  z.strictObject({ kind: z.literal('pid'), pid: z.number().int().min(1).max(4_194_304) }),
  z.strictObject({ kind: z.literal('pod'), namespace: dnsLabel, pod: dnsSubdomain, container: dnsLabel.optional() }),
  z.strictObject({ kind: z.literal('container'), id: z.string().regex(/^[0-9a-f]{12,64}$/) }),
  z.strictObject({ kind: z.literal('node') }),
]);
export type CaptureTargetSpec = z.output<typeof CaptureTargetSchema>;

/** Who asked, and why. */
export const CaptureSourceSchema = z.strictObject({
  kind: z.enum(['alertmanager', 'slack', 'api']),
  /** The alert's fingerprint, the Slack action's id, the API request's id. */
  id: str(256).min(1),
  /** The Slack user, the API token's name, the Alertmanager receiver. */
  who: str(256).optional(),
  reason: str(1024).optional(),
});
export type CaptureSource = z.output<typeof CaptureSourceSchema>;

const labelName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/);

export const CaptureRequestSchema = z.strictObject({
  target: CaptureTargetSchema,
  /** Deep probes by name (bpftrace is refused: a request carries no program). @defaultValue profile, offcpu */
  probes: z
    .array(z.string().regex(/^[a-z][a-z0-9_]{0,31}$/))
    .min(1)
    .max(REQUEST_MAX_PROBES)
    .optional(),
  /** @defaultValue config capture.duration */
  durationMs: z.number().int().min(REQUEST_MIN_MS).max(REQUEST_MAX_MS).optional(),
  source: CaptureSourceSchema,
  /** The incident's rule name, a DNS label like rule names (an alert's alertname, lower-cased). @defaultValue `<source kind>-capture` */
  name: dnsLabel.optional(),
  /** Labels of the incident (an alert's labels), at most 32. */
  labels: z
    .record(labelName, str(1024))
    .refine((r) => Object.keys(r).length <= 32, 'at most 32 labels')
    .optional(),
  severity: z.enum(['info', 'warning', 'critical']).optional(),
  summary: str(2048).optional(),
  join: z.strictObject({ key: str(16_384).min(1) }).optional(),
});
export type CaptureRequestMsg = z.output<typeof CaptureRequestSchema>;

/** Why a request was refused. */
export const REFUSALS = ['not_here', 'bad_target', 'bad_probes', 'busy', 'rate', 'join'] as const;
export type RefusalCode = (typeof REFUSALS)[number];

export const CaptureReplySchema = z.union([
  z.strictObject({
    accepted: z.literal(true),
    captureId: str(256),
    incidentId: str(256),
    key: str(16_384),
    durationMs: z.number().int(),
    probes: z.array(str(64)).max(REQUEST_MAX_PROBES),
    target: z.strictObject({
      cgroupPath: str(4096).optional(),
      cgroupId: str(32).optional(),
      pids: z.array(z.number().int()).max(8).optional(),
      hostWide: z.boolean().optional(),
    }),
  }),
  z.strictObject({ accepted: z.literal(false), code: z.enum(REFUSALS), reason: str(2048) }),
]);
export type CaptureReply = z.output<typeof CaptureReplySchema>;

export const CaptureExtendSchema = z.strictObject({
  captureId: str(256).min(1),
  seconds: z
    .number()
    .int()
    .min(1)
    .max(REQUEST_MAX_MS / 1000),
});
export type CaptureExtendMsg = z.output<typeof CaptureExtendSchema>;

export const CaptureExtendReplySchema = z.union([
  z.strictObject({ extended: z.literal(true), endsAt: z.number().int() }),
  z.strictObject({ extended: z.literal(false), code: z.enum(['unknown', 'limit']), reason: str(2048) }),
]);
export type CaptureExtendReply = z.output<typeof CaptureExtendReplySchema>;

/** What each report of a requested capture's incident carries (PROBE_TO_NET `incident`). */
export const RequestRefSchema = z.strictObject({ captureId: str(256), source: CaptureSourceSchema });
export type RequestRef = z.output<typeof RequestRefSchema>;

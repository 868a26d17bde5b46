/**
 * Alertmanager's webhook payload, version 4 (what a `webhook_configs` receiver POSTs), as tripline accepts it:
 * unknown top-level fields are kept out, every string and list bounded, the alerts' labels capped. Set
 * `max_alerts` in the receiver so a group fits the API's 64 KiB body limit (about 40 alerts of usual size).
 */
import { z } from 'zod';

const str = (max: number) => z.string().max(max);
const labels = z
  .record(str(256), str(4096))
  .refine((r) => Object.keys(r).length <= 128, 'at most 128 labels per alert');

/** One alert of a notification. */
export const WebhookAlertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels,
  annotations: z.record(str(256), str(16_384)).default({}),
  startsAt: str(64),
  endsAt: str(64).default(''),
  generatorURL: str(4096).default(''),
  /** Alertmanager's hash of the labels: one alert's identity across notifications. */
  fingerprint: str(64).regex(/^[0-9a-f]{1,64}$/),
});
export type WebhookAlert = z.output<typeof WebhookAlertSchema>;

export const WebhookPayloadSchema = z.object({
  version: z.literal('4'),
  groupKey: str(16_384).default(''),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: str(256).default(''),
  groupLabels: labels.default({}),
  commonLabels: labels.default({}),
  commonAnnotations: z.record(str(256), str(16_384)).default({}),
  externalURL: str(4096).default(''),
  alerts: z.array(WebhookAlertSchema).max(1000),
});
export type WebhookPayload = z.output<typeof WebhookPayloadSchema>;

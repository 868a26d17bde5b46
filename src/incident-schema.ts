/**
 * Schemas of an incident and of a bundle reference as they cross a trust boundary (the channel between the two
 * sides, a job read back from Redis): every field bounded, nothing unknown accepted. Paths in a bundle reference
 * are re-checked by whoever opens them (inside the bundles folder, regular files).
 */
import { z } from 'zod';

const str = (max: number) => z.string().max(max);
const labels = z.record(str(256), str(4096)).refine((r) => Object.keys(r).length <= 128, 'at most 128 labels');
const id = str(256).min(1);

/** An incident as rules emit it (src/incident.ts). */
export const IncidentSchema = z.strictObject({
  id,
  key: str(16_384),
  rule: str(256),
  status: z.enum(['firing', 'resolved']),
  severity: z.enum(['info', 'warning', 'critical']),
  labels,
  annotations: z.record(str(256), str(16_384)),
  target: z.strictObject({
    cgroupId: str(32).optional(),
    cgroupPath: str(4096).optional(),
    pids: z.array(z.number().int().positive()).max(1024).optional(),
    container: str(256).optional(),
    containerId: z
      .string()
      .regex(/^[0-9a-f]{12,128}$/)
      .optional(),
    workload: str(512).optional(),
    pod: z
      .strictObject({
        uid: str(64),
        qos: str(32).optional(),
        name: str(256).optional(),
        namespace: str(256).optional(),
      })
      .optional(),
  }),
  // NaN and ±Infinity become null in JSON (a job stored in Redis, a channel message).
  value: z.number().nullable(),
  threshold: z.number().nullable(),
  unit: str(32),
  stats: z.record(str(128), z.number().nullable()),
  startsAt: str(64),
  firedAt: str(64),
  resolvedAt: str(64).optional(),
  test: z.boolean().optional(),
  host: str(256),
});

/** A bundle reference: paths are re-checked by whoever opens them (inside the bundle directory, regular files). */
export const BundleRefSchema = z.strictObject({
  id: str(256).regex(/^[\w.-]+$/),
  dir: str(4096),
  tarball: str(4096),
  partial: z.boolean(),
  findings: z.looseObject({ headlines: z.array(str(4096)).max(100) }),
});

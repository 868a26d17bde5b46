/**
 * The `otlp:` config section: the optional export of incidents and their lifecycle as OTLP log records (OTLP/HTTP,
 * JSON) from the network side. Pure (zod only): src/config.ts includes it, src/export/otlp-exporter.ts uses it.
 */
import { z } from 'zod';
import { durationSchema, parseDuration } from '../../duration.ts';

/** A duration within [minMs, maxMs] (its shape already checked by durationSchema). */
const between = (minMs: number, maxMs: number, what: string) =>
  durationSchema.refine((d) => {
    const ms = parseDuration(d);
    return ms >= minMs && ms <= maxMs;
  }, what);

export const otlpConfigSchema = z
  .object({
    /**
     * The collector's OTLP/HTTP logs URL, e.g. http://otel-collector:4318/v1/logs; unset = no export.
     */
    endpoint: z
      .string()
      .max(2048)
      .regex(/^https?:\/\/[^\s/?#]+[^\s]*$/, 'an http:// or https:// URL (the full path, e.g. …:4318/v1/logs)')
      .optional(),
    /**
     * A file of `Name: value` lines sent as HTTP headers with every export (an `Authorization` or API-key header of
     * the collector): read at start, never logged. At most 32 headers.
     */
    headers_file: z.string().startsWith('/').optional(),
    /** Time one export may take, its retries (429, 502, 503, 504, network errors; backoff 1–5 s) included. @defaultValue 10s */
    timeout: between(1000, 120_000, 'between 1s and 2m').default('10s'),
    /** Records waiting to be sent; past it new records are dropped (counted in tripline_otlp_records_dropped_total). @defaultValue 2048 */
    max_queue: z.number().int().min(1).max(100_000).default(2048),
    /** Records per export request. @defaultValue 512 */
    max_batch: z.number().int().min(1).max(10_000).default(512),
    /** How long a record waits for its batch to fill before it is sent. @defaultValue 1s */
    flush_interval: between(10, 60_000, 'between 10ms and 1m').default('1s'),
  })
  .strict()
  .refine((o) => o.max_batch <= o.max_queue, { message: 'max_batch must not exceed max_queue', path: ['max_batch'] });

export type OtlpConfig = z.infer<typeof otlpConfigSchema>;

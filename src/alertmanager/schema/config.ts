/**
 * The `alertmanager:` section of the engine config: both directions of the Alertmanager integration.
 * - `url` (one or several, for an HA pair): tripline's incidents are posted to each one's v2 API (src/alertmanager/output.ts).
 * - `receive`: `POST /api/alertmanager` takes Alertmanager's webhook (src/alertmanager/receiver.ts): which probes
 *   and how long per alert (by label values, `alertname` among them; first match wins), and the actions an alert's
 *   capture runs when no tripline incident of the same target fires (one that fires gets the bundle in its thread).
 */
import { z } from 'zod';
import { durationSchema as duration } from '../../duration.ts';

const labelName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'a Prometheus label name');
const probe = z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'a deep probe name (tripline probes)');
const url = z
  .string()
  .max(2048)
  .regex(
    /^https?:\/\/[^\s/@]+(\/[^\s]*)?$/,
    'an http(s) URL like http://alertmanager:9093, without user:password@ (give a token in bearer_token_file)',
  );

/** What to capture for an alert. */
const CapturePlanSchema = z
  .object({
    /** Deep probes; [] captures nothing (the alert is only recorded). @defaultValue [profile, offcpu] */
    probes: z.array(probe).max(8).default(['profile', 'offcpu']),
    /** Time box, 1s..120s. @defaultValue 10s */
    duration: duration.default('10s'),
  })
  .strict();

export const AlertmanagerConfigSchema = z
  .object({
    /** Alertmanager base URL(s) tripline posts its incidents to (`/api/v2/alerts` is appended); unset: no output. */
    url: z
      .union([url, z.array(url).max(8)])
      .transform((u) => (Array.isArray(u) ? u : [u]))
      .default([]),
    /** Re-post of firing incidents (Alertmanager ends an alert not re-posted before its endsAt). @defaultValue 1m */
    refresh: duration.default('1m'),
    /** Deadline of one post. @defaultValue 5s */
    timeout: duration.default('5s'),
    /** File holding a bearer token for Alertmanager (behind a proxy); never logged. */
    bearer_token_file: z.string().startsWith('/').optional(),
    /** Base of `generatorURL` (the incident in tripline's API), e.g. http://node-1:9464. @defaultValue http://<host>:<port of listen> */
    external_url: url.optional(),
    receive: z
      .object({
        /** Serve `POST /api/alertmanager` (authenticated like all of /api). @defaultValue true */
        enabled: z.boolean().default(true),
        /** Per alert, the first entry whose `match` labels all equal the alert's. */
        captures: z
          .array(CapturePlanSchema.extend({ match: z.record(labelName, z.string().max(1024)).default({}) }).strict())
          .max(100)
          .default([]),
        /** Alerts no entry matches. @defaultValue profile + offcpu, 10 s */
        default: CapturePlanSchema.prefault({}),
        /** Actions of an alert's incident (rule-style specs: `- type: slack`), when it joins no tripline incident. */
        actions: z
          .array(z.looseObject({ type: z.string().max(64) }))
          .max(16)
          .default([]),
        /** Other names of this host in `instance`/`node`/`host` labels (an IP, a FQDN); the config `host` always counts. */
        host_aliases: z.array(z.string().max(253)).max(16).default([]),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export type AlertmanagerConfig = z.output<typeof AlertmanagerConfigSchema>;

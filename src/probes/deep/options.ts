/** Validation of a deep probe's options (`capture.options.<probe>` in a rule, snake_case keys). */
import type { z } from 'zod';
import { TriplineError } from '../../errors.ts';

/** Parses options with the probe's strict schema; a bad option is PROBE_ERR_CONFIG naming the key and the fix. */
export function parseOptions<S extends z.ZodType>(probe: string, schema: S, raw: unknown): z.output<S> {
  const r = schema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const key = issue.path.join('.') || '(options)';
  throw new TriplineError('PROBE_ERR_CONFIG', `capture.options.${probe}.${key}: ${issue.message}`, {
    hint: `fix capture.options.${probe}.${key} in the rule (see docs/probes.md for ${probe}'s options)`,
  });
}

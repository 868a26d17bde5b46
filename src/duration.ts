/** Durations as the config and the rules write them (`500ms`, `10s`, `5m`, `4h`, `7d`). Pure: the config and the counter family specs share it. */
import { z } from 'zod';
import { TriplineError } from './errors.ts';

/** Zod schema of a duration string. */
export const durationSchema = z.string().regex(/^\d+(\.\d+)?(ms|s|m|h|d)$/, 'a duration like 500ms, 10s, 5m, 4h');

/** Parses a duration string (`500ms`, `10s`, `5m`, `4h`, `7d`) to milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m)
    throw new TriplineError('CONFIG_ERR_INVALID', `not a duration: ${JSON.stringify(text)}`, {
      hint: 'write a number with a unit: 500ms, 10s, 5m, 4h, 7d',
    });
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * mult;
}

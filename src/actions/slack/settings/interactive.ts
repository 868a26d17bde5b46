/**
 * The config of Slack interactivity and digests (the `slack:` section's `app_token_file`, `interactivity` and
 * `digests`): schema only, so the config module can take it in without reaching up to the Slack code.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { durationSchema as duration } from '../../../duration.ts';

/** A Slack user id (`U…`, or `W…` on Enterprise Grid). */
const userId = z.string().regex(/^[UW][A-Z0-9]{2,20}$/, 'a Slack user id like U024BE7LH');
/** A Slack user group id (`S…`). */
const groupId = z.string().regex(/^S[A-Z0-9]{2,20}$/, 'a Slack user group id like S0614TZR7');

/** One digest: a summary message to `channel` every day (or week) at `at` (the host's time zone unless `timezone`). */
export const DigestSchema = z.strictObject({
  channel: z.string().min(1).max(200),
  every: z.enum(['day', 'week']).default('day'),
  /** Local time `HH:MM`. @defaultValue 09:00 */
  at: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time like 09:00')
    .default('09:00'),
  /** Day of a weekly digest. @defaultValue mon */
  day: z.enum(['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']).default('mon'),
  /** IANA time zone, e.g. Europe/Paris. @defaultValue the host's */
  timezone: z
    .string()
    .max(64)
    .refine(
      (tz) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      },
      { error: 'an IANA time zone like Europe/Paris' },
    )
    .optional(),
});
export type DigestConfig = z.output<typeof DigestSchema>;

/** Fields of the `slack:` section for interactivity and digests (spread into it by config.ts). */
export const SLACK_INTERACTIVE_FIELDS = {
  /** App-level token (`xapp-…`, scope connections:write) for Socket Mode. Env SLACK_APP_TOKEN. Never logged. */
  app_token_file: z.string().startsWith('/').optional(),
  interactivity: z
    .strictObject({
      /** Slack user ids whose clicks are obeyed. */
      allowed_users: z.array(userId).max(1000).default([]),
      /** Slack user group ids whose members' clicks are obeyed (read with usergroups.users.list). */
      allowed_groups: z.array(groupId).max(100).default([]),
      /** How long a group's member list is kept before it is read again. @defaultValue 60s */
      group_cache: duration.default('60s'),
    })
    .prefault({}),
  /** Daily or weekly digests, at most 20. */
  digests: z.array(DigestSchema).max(20).default([]),
};

/** The Socket Mode app token: env SLACK_APP_TOKEN, else the file `slack.app_token_file`; undefined without one. */
export function slackAppToken(
  slack: { readonly app_token_file?: string },
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (env.SLACK_APP_TOKEN) return env.SLACK_APP_TOKEN.trim();
  if (slack.app_token_file) return readFileSync(slack.app_token_file, 'utf8').trim() || undefined;
  return undefined;
}

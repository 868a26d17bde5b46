/** The Slack action's spec: its schema (what a rule may write) and its doc row. */
import { z } from 'zod';
import type { ActionDoc } from '../types.ts';

/** `{type: slack, channel?, mention?}`; an empty channel or mention counts as none. */
export const slackSpec = z
  .strictObject({
    type: z.literal('slack'),
    channel: z
      .string()
      .optional()
      .describe('Channel id or name; default: the configured channel (`slack.channel`, SLACK_CHANNEL).'),
    mention: z.string().optional().describe('Who the incident message mentions, e.g. `@oncall`.'),
  })
  .transform((a) => ({
    type: a.type,
    ...(a.channel ? { channel: a.channel } : {}),
    ...(a.mention ? { mention: a.mention } : {}),
  }));

/** A Slack action as loaded. */
export type SlackActionSpec = Readonly<z.output<typeof slackSpec>>;

/** The Slack action in docs/rules.md. */
export const slackDoc: ActionDoc = {
  summary:
    'Posts one message per rule and channel, updated as the incident changes, with updates, the bundle and scale results in its thread. Without a token (or on a dry run) it writes to the file sink instead.',
};

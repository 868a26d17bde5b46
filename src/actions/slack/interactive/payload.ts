/**
 * A click as Slack delivers it (a `block_actions` payload in an `interactive` envelope), parsed strictly and
 * bounded: anything else from the socket is ignored. Only the fields a click needs are kept.
 */
import { z } from 'zod';

const userId = z.string().regex(/^[UW][A-Z0-9]{2,20}$/);
const channelId = z.string().regex(/^[CGD][A-Z0-9]{2,20}$/);
const ts = z.string().regex(/^\d{1,12}\.\d{1,8}$/);

const PayloadSchema = z.looseObject({
  type: z.literal('block_actions'),
  user: z.looseObject({ id: userId, username: z.string().max(100).optional(), name: z.string().max(100).optional() }),
  container: z.looseObject({ channel_id: channelId.optional(), message_ts: ts.optional() }).optional(),
  channel: z.looseObject({ id: channelId }).optional(),
  message: z.looseObject({ ts }).optional(),
  actions: z
    .array(
      z.looseObject({
        action_id: z.string().max(255),
        value: z.string().max(2000).optional(),
        selected_option: z.looseObject({ value: z.string().max(150) }).optional(),
        action_ts: z.string().max(32),
      }),
    )
    .min(1)
    .max(5),
});

/** One click. */
export interface Click {
  readonly user: string;
  /** The user's handle, for texts that cannot mention (names in scale notes). */
  readonly userName: string;
  readonly channel: string;
  /** The message clicked on (the incident's parent). */
  readonly messageTs: string;
  readonly actionId: string;
  /** The button's value or the menu's choice. */
  readonly value: string;
  /** Slack's time of the click: with the message and user, it names the click (a retry carries the same). */
  readonly actionTs: string;
}

/** The click in an interactive payload, or a reason it is not one tripline acts on. */
export function parseClick(body: unknown): { click: Click } | { ignored: string } {
  const p = PayloadSchema.safeParse(body);
  if (!p.success) return { ignored: `not a block_actions click (${p.error.issues[0]?.path.join('.') || 'body'})` };
  const d = p.data;
  const channel = d.container?.channel_id ?? d.channel?.id;
  const messageTs = d.container?.message_ts ?? d.message?.ts;
  if (!channel || !messageTs) return { ignored: 'a click without its channel or message' };
  const a = d.actions[0];
  return {
    click: {
      user: d.user.id,
      userName: (d.user.username ?? d.user.name ?? d.user.id).replace(/[^\w.-]/g, '').slice(0, 80),
      channel,
      messageTs,
      actionId: a.action_id,
      value: a.selected_option?.value ?? a.value ?? '',
      actionTs: a.action_ts,
    },
  };
}

/** A parsed click as another engine passed it through the store (mailbox.ts): the same bounds, nothing more. */
const ForwardedSchema = z.strictObject({
  user: userId,
  userName: z.string().regex(/^[\w.-]{0,80}$/),
  channel: channelId,
  messageTs: ts,
  actionId: z.string().max(255),
  value: z.string().max(2000),
  actionTs: z.string().max(32),
});

/** A click read back from the store, or a reason it is not one. */
export function parseForwarded(raw: unknown): { click: Click } | { ignored: string } {
  const p = ForwardedSchema.safeParse(raw);
  if (!p.success) return { ignored: `not a forwarded click (${p.error.issues[0]?.path.join('.') || 'body'})` };
  return { click: p.data };
}

/**
 * The buttons of an incident message (pure): what an allowed person may do from Slack, from the group's control
 * state. Silence 1 h (and a menu for 4 h / 24 h) while firing and not silenced; Unsilence once silenced; Capture
 * again and Extend +30 s where the capture request is available; Approve scale / Reject while a scale waits for
 * approval. Buttons that no longer apply are not rendered, so each update of the message drops them.
 */
import type { Block } from '../blocks.ts';

/** Action ids of the buttons; the click handler dispatches on these. */
export const ACTION_IDS = {
  silence: 'tl_silence',
  silenceFor: 'tl_silence_for',
  unsilence: 'tl_unsilence',
  capture: 'tl_capture',
  extend: 'tl_extend',
  approve: 'tl_approve',
  reject: 'tl_reject',
} as const;

/** Durations of the silence menu (the button is 1 h). A Map: a click's value never reaches a prototype key. */
export const SILENCE_CHOICES: ReadonlyMap<string, number> = new Map([
  ['1h', 3600_000],
  ['4h', 4 * 3600_000],
  ['24h', 86_400_000],
]);
/** The longest silence a click may ask for (what a Slack silence read back from the store may span at most). */
export const LONGEST_SILENCE_MS = Math.max(...SILENCE_CHOICES.values());

/** A scale waiting for (or past) its approval. */
export interface ApprovalControl {
  state: 'pending' | 'approved' | 'rejected' | 'expired';
  /** What would be scaled, in words. */
  readonly text: string;
  by?: string;
}

/** The interactive state of one incident message (kept in the group's JSON). */
export interface Controls {
  /** The silences a click added (one per firing series), until when and by whom. */
  silence?: { ids: string[]; until: number; by: string };
  /** Approval ref → its state. */
  approvals?: Record<string, ApprovalControl>;
  /** A capture a click asked for is running (Extend applies). */
  captureRunning?: boolean;
}

/** What this engine offers: buttons at all (an app token is set), and capture requests. */
export interface Interactive {
  readonly on: boolean;
  readonly capture: boolean;
}

function button(text: string, actionId: string, value: string, style?: 'primary' | 'danger'): Block {
  return {
    type: 'button',
    text: { type: 'plain_text', text, emoji: true },
    action_id: actionId,
    value,
    ...(style ? { style } : {}),
  };
}

/** The actions blocks of a message, or none. `firing`: some series still fires. */
export function controlBlocks(c: Controls | undefined, firing: boolean, i: Interactive): Block[] {
  if (!i.on) return [];
  const out: Block[] = [];
  const row: Block[] = [];
  if (c?.silence) row.push(button('Unsilence', ACTION_IDS.unsilence, 'unsilence'));
  else if (firing) {
    row.push(button('Silence 1 h', ACTION_IDS.silence, '1h'));
    row.push({
      type: 'static_select',
      action_id: ACTION_IDS.silenceFor,
      placeholder: { type: 'plain_text', text: 'Silence for…' },
      options: ['4h', '24h'].map((v) => ({ text: { type: 'plain_text', text: v.replace('h', ' h') }, value: v })),
    });
  }
  if (firing && i.capture) {
    row.push(button('Capture again', ACTION_IDS.capture, 'capture'));
    if (c?.captureRunning) row.push(button('Extend +30 s', ACTION_IDS.extend, 'extend'));
  }
  if (c?.silence)
    out.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `:mute: Silenced until ${new Date(c.silence.until).toISOString().replace(/\.\d{3}Z$/, 'Z')} by <@${c.silence.by}>`,
        },
      ],
    });
  if (row.length) out.push({ type: 'actions', block_id: 'tl_controls', elements: row });
  for (const [ref, a] of Object.entries(c?.approvals ?? {})) {
    if (a.state !== 'pending') continue;
    out.push({
      type: 'actions',
      block_id: `tl_approval_${ref.slice(0, 200)}`,
      elements: [
        button('Approve scale', ACTION_IDS.approve, ref, 'primary'),
        button('Reject', ACTION_IDS.reject, ref, 'danger'),
      ],
    });
  }
  return out;
}

/** Records a scale approval's state (its buttons show while pending); a decision is final. */
export function setApproval(
  g: { controls?: Controls; version: number },
  ref: string,
  text: string,
  state: unknown,
): void {
  const approvals = ((g.controls ??= {}).approvals ??= {});
  const next = state === 'approved' || state === 'rejected' || state === 'expired' ? state : 'pending';
  const cur = approvals[ref];
  if (cur && cur.state !== 'pending') return;
  if (cur?.state === next) return;
  approvals[ref] = { state: next, text: cur?.text ?? text };
  g.version += 1;
}

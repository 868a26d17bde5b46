/**
 * The parent message of a group as it stands (pure): its incidents, bundle, notes, suppressed repeats and, when
 * interactive, its buttons. The Slack action renders with it when it posts or updates, and so does a click.
 */
import { renderIncidentMessage, type SlackMessage } from './blocks.ts';
import { groupIncidents, type GroupState } from './group.ts';
import { controlBlocks, type Interactive } from './interactive/controls.ts';

/** Renders group `g` at `now`. */
export function renderGroup(g: GroupState, now: number, interactive: Interactive): SlackMessage {
  const incidents = groupIncidents(g);
  return renderIncidentMessage({
    incidents,
    bundle: g.bundle,
    notes: g.notes,
    mention: g.mention,
    now,
    suppressed: g.suppressed > 0 ? { count: g.suppressed, windowMs: now - g.createdAt } : undefined,
    controls: controlBlocks(
      g.controls,
      incidents.some((i) => i.status === 'firing'),
      interactive,
    ),
  });
}

/** Store key of the message → group mapping a click finds its group with. */
export function messageKey(ns: string, channel: string, ts: string): string {
  return `${ns}:message:${channel}:${ts}`;
}

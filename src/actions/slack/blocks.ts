/**
 * The Block Kit incident message (pure): what fired, where, how far past its threshold and for how long,
 * what the bundle found, and what tripline did about it. The same function renders the first post, the
 * updates of the parent message (still firing, scaled, resolved) and the file sink's JSON.
 */
import { targetName, type Incident } from '../../incident.ts';
import type { BundleRef } from '../../bundle/types.ts';
import { SLACK_LIMITS, codeSpan, inertMrkdwn, safeText, truncate } from './escape.ts';
import { formatDuration, formatValue } from './format.ts';

/** Something tripline did or decided about an incident (capture, scale, verification), for the message and its thread. */
export interface IncidentNote {
  readonly kind:
    'capture' | 'scaled' | 'scale-skipped' | 'scale-dry-run' | 'recovered' | 'not-recovered' | 'approval' | 'info';
  /** Plain words; may name workloads, so it is escaped like any incident text. */
  readonly text: string;
  /** ISO time of the event. */
  readonly at: string;
}

/** A Block Kit block (kept loose: the message is JSON for Slack, checked by tests against Slack's limits). */
export type Block = Record<string, unknown>;

/** A rendered message: `text` is the notification fallback, `blocks` what Slack shows. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly Block[];
}

/** Everything one message shows. `incidents[0]` stands for the group; more entries are the other series of the same rule. */
export interface MessageInput {
  readonly incidents: readonly Incident[];
  readonly bundle?: BundleRef;
  readonly notes?: readonly IncidentNote[];
  /** Repeats suppressed by grouping since the last message, and the window they were counted in. */
  readonly suppressed?: { readonly count: number; readonly windowMs: number };
  /** `<!here>`, `<@U..>` or `<!subteam^..>` from the rule's spec (operator-written, so passed through). */
  readonly mention?: string;
  /** Render time (ms), for "firing for". */
  readonly now: number;
  /** Buttons and their state lines (interactive/controls.ts), shown above the key line. */
  readonly controls?: readonly Block[];
}

/** Series listed in a grouped message before "and N more". */
const MAX_SERIES = 10;
/** Bundle headlines shown. */
const MAX_HEADLINES = 5;

const ICON = {
  firing: { critical: ':red_circle:', warning: ':large_orange_circle:', info: ':large_blue_circle:' },
  resolved: ':white_check_mark:',
} as const;

/** Renders the parent message of an incident (firing or resolved, depending on `incidents[0].status`). */
export function renderIncidentMessage(input: MessageInput): SlackMessage {
  const first = input.incidents[0];
  if (!first) throw new Error('renderIncidentMessage needs at least one incident');
  const resolved = input.incidents.every((i) => i.status === 'resolved');
  const testTag = first.test ? '[TEST] ' : '';
  const state = resolved ? 'resolved' : 'firing';
  const icon = resolved ? ICON.resolved : ICON.firing[first.severity];
  const blocks: Block[] = [];

  blocks.push({
    type: 'header',
    text: {
      type: 'plain_text',
      emoji: true,
      text: safeText(`${testTag}${first.severity.toUpperCase()} ${first.rule} ${state}`, SLACK_LIMITS.header),
    },
  });
  if (first.test) {
    blocks.push(
      context(':test_tube: *Test incident* sent by `tripline actions fire` to check the wiring; nothing is wrong.'),
    );
  }
  // The answer first (cause, culprit, number; what to do), then the rule's own words.
  const findings = input.bundle?.findings;
  const d = findings?.diagnosis;
  if (d)
    blocks.push(
      section(
        d.lead
          ? `*${inertMrkdwn(d.lead, 1500)}*\n_What to do:_ ${inertMrkdwn(d.advice ?? '', 500)}`
          : `*Diagnosis:* ${codeSpan(d.cause)} ${inertMrkdwn(d.summary, SLACK_LIMITS.sectionText - 100)}`,
      ),
    );
  const summary = first.annotations.summary ?? first.annotations.description;
  const lead = [
    input.mention && !resolved ? input.mention : '',
    summary ? inertMrkdwn(summary, SLACK_LIMITS.sectionText - 200) : '',
  ]
    .filter(Boolean)
    .join(' ');
  if (lead) blocks.push(section(`${icon} ${lead}`));

  const endMs = resolved && first.resolvedAt ? Date.parse(first.resolvedAt) : input.now;
  const forText = `${formatDuration(endMs - Date.parse(first.startsAt))}${resolved ? ` (resolved ${slackDate(first.resolvedAt!)})` : ` (since ${slackDate(first.startsAt)})`}`;
  blocks.push({
    type: 'section',
    fields: [
      field(`*Severity*\n${first.severity}`),
      field(`*Rule*\n${codeSpan(first.rule)}`),
      field(`*Host*\n${codeSpan(first.host)}`),
      field(`*Target*\n${targetText(first)}`),
      field(
        `*Observed*\n${formatValue(first.value, first.unit)} vs threshold ${formatValue(first.threshold, first.unit)}`,
      ),
      field(`*${resolved ? 'Lasted' : 'For'}*\n${forText}`),
    ],
  });

  if (input.incidents.length > 1) blocks.push(section(seriesList(input.incidents)));

  if (findings && findings.headlines.length > 0) {
    const lines = findings.headlines
      .filter((h) => h !== d?.lead)
      .slice(0, MAX_HEADLINES)
      .map((h) => `• ${inertMrkdwn(h, 500)}`);
    blocks.push(section(`*Findings*\n${lines.join('\n')}`));
  }

  const did = doneLines(input);
  if (did.length > 0) blocks.push(section(`*What tripline did*\n${did.join('\n')}`));

  if (input.suppressed && input.suppressed.count > 0) {
    blocks.push(
      context(`:mute: ${input.suppressed.count} similar in the last ${formatDuration(input.suppressed.windowMs)}`),
    );
  }
  if (input.controls) blocks.push(...input.controls);
  blocks.push(context(`key ${codeSpan(first.key, 500)} · incident ${codeSpan(first.id, 100)}`));

  const named = targetName(first.target);
  const fallback = `${testTag}${first.severity.toUpperCase()} ${first.rule} ${state} on ${first.host}${named ? ` for ${named}` : ''}: ${formatValue(first.value, first.unit)} vs ${formatValue(first.threshold, first.unit)}${summary ? ` — ${summary}` : ''}`;
  return { text: safeText(fallback, SLACK_LIMITS.fallbackText), blocks: blocks.slice(0, SLACK_LIMITS.blocks) };
}

/** Renders a reply in the incident's thread for one note (scaled, not scaled, recovered, ...). */
export function renderNoteReply(incident: Incident, note: IncidentNote): SlackMessage {
  const icon = {
    capture: ':mag:',
    scaled: ':arrow_up:',
    'scale-skipped': ':no_entry_sign:',
    'scale-dry-run': ':memo:',
    recovered: ':white_check_mark:',
    'not-recovered': ':warning:',
    approval: ':raised_hand:',
    info: ':information_source:',
  }[note.kind];
  const body = `${icon} ${inertMrkdwn(note.text, SLACK_LIMITS.sectionText - 100)}`;
  return {
    text: safeText(`${incident.rule}: ${note.text}`, SLACK_LIMITS.fallbackText),
    blocks: [section(body), context(`${note.kind} · ${note.at}`)],
  };
}

/**
 * The incident's target in mrkdwn: its names (`shop/web-7d9f-abcde (Deployment shop/web), container app`, see
 * targetName), else the pod uid and container id; the cgroup path; or pids; `host-wide` without one.
 */
export function targetText(incident: Incident): string {
  const t = incident.target;
  const parts: string[] = [];
  const name = targetName(t);
  if (name) parts.push(inertMrkdwn(name, 600));
  if (!t.pod?.name && t.pod?.uid) parts.push(`pod uid ${codeSpan(t.pod.uid)}`);
  if (!t.container && t.containerId) parts.push(`container id ${codeSpan(t.containerId.slice(0, 12))}`);
  if (t.cgroupPath) parts.push(`cgroup ${codeSpan(t.cgroupPath)}`);
  if (parts.length === 0 && t.pids?.length) parts.push(`pids ${codeSpan(t.pids.slice(0, 10).join(','))}`);
  return parts.length ? truncate(parts.join('\n'), SLACK_LIMITS.field - 20) : `host-wide on ${codeSpan(incident.host)}`;
}

function seriesList(incidents: readonly Incident[]): string {
  const lines = incidents.slice(0, MAX_SERIES).map((i) => {
    // Node-level series name their host (their key carries it; two hosts' lines would read the same otherwise).
    const own = i.target.pod?.uid ? i.labels : { ...i.labels, host: i.host };
    const labels = Object.entries(own)
      .slice(0, 6)
      .map(([k, v]) => `${codeSpan(k, 40)}=${codeSpan(v, 80)}`)
      .join(' ');
    return `• ${labels || codeSpan(i.key, 200)}: ${formatValue(i.value, i.unit)}${i.status === 'resolved' ? ' (resolved)' : ''}`;
  });
  const more = incidents.length > MAX_SERIES ? `\n…and ${incidents.length - MAX_SERIES} more` : '';
  return truncate(`*${incidents.length} series*\n${lines.join('\n')}${more}`, SLACK_LIMITS.sectionText);
}

function doneLines(input: MessageInput): string[] {
  const lines: string[] = [];
  const b = input.bundle;
  if (b)
    lines.push(
      `• captured bundle ${codeSpan(b.id, 150)}${b.partial ? ' (partial)' : ''}; the tarball is in the thread`,
    );
  for (const n of (input.notes ?? []).slice(-8)) lines.push(`• ${inertMrkdwn(n.text, 400)}`);
  return lines;
}

/**
 * A time Slack shows in each reader's time zone (`<!date^epoch^{date_short_pretty} {time_secs}|fallback>`); the
 * ISO text is the fallback. Built from a parsed date only, so nothing from incident data reaches the markup.
 */
export function slackDate(iso: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return 'an unknown time';
  const fallback = new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time_secs}|${fallback}>`;
}

function section(text: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, SLACK_LIMITS.sectionText) } };
}

function field(text: string): Block {
  return { type: 'mrkdwn', text: truncate(text, SLACK_LIMITS.field) };
}

function context(text: string): Block {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(text, SLACK_LIMITS.contextText) }] };
}

/**
 * Grouping of incident messages (pure): trips of one rule to one channel within `group_wait` become one message
 * listing the series; later changes refresh that message at most every `group_interval`; a series that trips
 * again within `repeat_interval` of the last message is counted ("17 similar in the last 10 min") instead of
 * posted again. The state is JSON in the action store, so several engines share it.
 */
import type { Incident } from '../../incident.ts';
import type { BundleRef } from '../../bundle/types.ts';
import type { IncidentNote } from './blocks.ts';
import type { MessageRef } from './transport.ts';
import type { Controls } from './interactive/controls.ts';

/** Grouping windows in milliseconds (config `slack.group_wait`, `group_interval`, `repeat_interval`). */
export interface GroupTiming {
  readonly waitMs: number;
  readonly intervalMs: number;
  readonly repeatMs: number;
}

/** Series kept per group; more are counted in `extraSeries` (the message shows "and N more"). */
export const MAX_GROUP_SERIES = 50;
/** Notes kept per group (the message shows the last few). */
const MAX_NOTES = 20;

/** One group: a rule's incidents to one channel, and its parent message once posted. */
export interface GroupState {
  readonly id: string;
  createdAt: number;
  /** The parent message, once posted. */
  parent?: MessageRef;
  postedAt?: number;
  /** Last time the parent was posted or updated. */
  renderedAt?: number;
  /** Latest incident per series key, in arrival order. */
  series: Record<string, Incident>;
  extraSeries: number;
  /** Repeats of known series since the group began. */
  suppressed: number;
  /** The first bundle seen: its findings are shown on the parent. */
  bundle?: BundleRef;
  notes: IncidentNote[];
  /** Bumped on every change; `rendered` is the version the parent shows. */
  version: number;
  rendered: number;
  /** Set when every series resolved: the next trip starts a new group (a new message). */
  closedAt?: number;
  /** The rule's mention (kept so a click's re-render shows it). */
  mention?: string;
  /** What clicks changed: silence, approvals, capture (the buttons shown). */
  controls?: Controls;
}

/**
 * The group id of an incident for a channel: rule + channel (+ test, so drills never merge with real trips), + the
 * host for an incident that is not a pod's: a node-level trip is about its host, so each host gets its own message
 * and thread, while a pod's incidents (cluster-wide, keyed without host) group across hosts.
 */
export function groupId(incident: Incident, channel: string): string {
  const host = incident.target.pod?.uid ? '' : `|host:${incident.host}`;
  return `${incident.rule}|${channel}${incident.test ? '|test' : ''}${host}`;
}

/** A new, empty group. */
export function newGroup(id: string, now: number): GroupState {
  return { id, createdAt: now, series: {}, extraSeries: 0, suppressed: 0, notes: [], version: 0, rendered: 0 };
}

/** True when a trip at `now` should start a new message instead of joining `g`. */
export function isExpired(g: GroupState, now: number, t: GroupTiming): boolean {
  if (g.closedAt !== undefined) return true;
  return g.renderedAt !== undefined && now - g.renderedAt >= t.repeatMs;
}

/**
 * Merges an incident event into the group. Returns what changed: `new` series, a `repeat` (same series, new
 * trip: counted), `resolved`, or `same` (this very trip is already in; a retried job).
 */
export function mergeIncident(
  g: GroupState,
  incident: Incident,
  bundle: BundleRef | undefined,
): 'new' | 'repeat' | 'resolved' | 'same' {
  const prev = g.series[incident.key];
  let change: 'new' | 'repeat' | 'resolved' | 'same';
  if (!prev) change = 'new';
  else if (prev.id !== incident.id) change = 'repeat';
  else if (prev.status !== incident.status) change = 'resolved';
  else change = 'same';
  if (change === 'new' && Object.keys(g.series).length >= MAX_GROUP_SERIES) {
    g.extraSeries += 1;
  } else if (change !== 'same') {
    g.series[incident.key] = incident;
  }
  if (change === 'repeat') g.suppressed += 1;
  if (bundle && !g.bundle) {
    g.bundle = bundle;
    g.version += 1;
  }
  if (change !== 'same') g.version += 1;
  if (Object.values(g.series).every((i) => i.status === 'resolved') && change !== 'same')
    g.closedAt = Date.parse(incident.resolvedAt ?? '') || g.createdAt;
  else if (change === 'repeat' || change === 'new') delete g.closedAt;
  return change;
}

/** Adds a note (scaled, verified, ...) shown on the parent. */
export function addNote(g: GroupState, note: IncidentNote): void {
  g.notes.push(note);
  if (g.notes.length > MAX_NOTES) g.notes.splice(0, g.notes.length - MAX_NOTES);
  g.version += 1;
}

/**
 * When the parent may be posted or refreshed: `now` when due, a later time to wait for, or undefined when the
 * parent already shows the latest version. `urgent` (resolved, scaled, verified) skips group_interval.
 */
export function nextRenderAt(
  g: GroupState,
  now: number,
  t: GroupTiming,
  urgent: boolean,
  skipWait: boolean,
): number | undefined {
  if (!g.parent) return skipWait ? now : Math.max(now, g.createdAt + t.waitMs);
  if (g.rendered >= g.version) return undefined;
  if (urgent) return now;
  return Math.max(now, (g.renderedAt ?? now) + t.intervalMs);
}

/** The incidents a message shows, the firing ones first. */
export function groupIncidents(g: GroupState): Incident[] {
  const all = Object.values(g.series);
  return [...all.filter((i) => i.status === 'firing'), ...all.filter((i) => i.status !== 'firing')];
}

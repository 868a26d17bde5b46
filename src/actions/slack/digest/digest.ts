/**
 * The digest (pure): what happened on this engine in a window (its part of a fleet's digest: fleet.ts) — incidents
 * per rule and per workload, the top offenders, actions taken and their verification results, trips suppressed and
 * why, captures that were partial and why — and its Slack message. The inputs are the network side's incident log,
 * its ledger of settled action jobs (ledger.ts) and the probe side's suppressed trips.
 */
import { targetName, type Incident } from '../../../incident.ts';
import type { IncidentRecord } from '../../../incident-log.ts';
import type { SuppressedTrip } from '../../../rules/evaluate/suppress.ts';
import type { SlackMessage, Block } from '../blocks.ts';
import { codeSpan, inertMrkdwn, safeText, truncate, SLACK_LIMITS } from '../escape.ts';
import { formatValue } from '../format.ts';
import type { LedgerEntry } from './ledger.ts';

/** Lines listed per table (the rest are counted as "N more"). */
const TOP = 5;

export interface Digest {
  /** The hosts whose parts it holds (one, or a fleet's: fleet.ts). */
  readonly hosts: readonly string[];
  readonly from: number;
  readonly to: number;
  readonly incidents: number;
  readonly perRule: readonly (readonly [string, number])[];
  readonly perWorkload: readonly (readonly [string, number])[];
  /** Targets with the most incidents, with their worst value. */
  readonly offenders: readonly { target: string; count: number; worst: number; unit: Incident['unit'] }[];
  /** Per action type: jobs delivered, skipped (decided not to act), failed. */
  readonly actions: readonly { type: string; delivered: number; skipped: number; failed: number }[];
  /** Scale outcomes told to the thread (distinct incidents). */
  readonly scaled: number;
  readonly notScaled: number;
  readonly verification: { recovered: number; notRecovered: number; overdue: number };
  readonly suppressed: readonly { reason: string; count: number; why: readonly string[] }[];
  readonly partial: readonly { incident: string; rule: string; why: string; host?: string }[];
}

function inWindow(iso: string | undefined, from: number, to: number): boolean {
  const t = Date.parse(iso ?? '');
  return Number.isFinite(t) && t >= from && t < to;
}

function counted(m: Map<string, number>): [string, number][] {
  return [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

function workloadOf(i: Incident): string {
  const t = i.target;
  if (t.workload) {
    const [kind, name] = t.workload.split('/', 2);
    return t.pod?.namespace && name ? `${kind} ${t.pod.namespace}/${name}` : t.workload;
  }
  if (t.pod?.name) return `${t.pod.namespace ?? ''}/${t.pod.name}`;
  return `host ${i.host}`;
}

/** The digest of [from, to). */
export function buildDigest(
  host: string,
  records: readonly IncidentRecord[],
  ledger: readonly LedgerEntry[],
  suppressed: readonly SuppressedTrip[],
  from: number,
  to: number,
): Digest {
  const fired = records.filter((r) => inWindow(r.incident.firedAt, from, to));
  const perRule = new Map<string, number>();
  const perWorkload = new Map<string, number>();
  const offenders = new Map<string, { count: number; worst: number; unit: Incident['unit'] }>();
  for (const r of fired) {
    const i = r.incident;
    perRule.set(i.rule, (perRule.get(i.rule) ?? 0) + 1);
    perWorkload.set(workloadOf(i), (perWorkload.get(workloadOf(i)) ?? 0) + 1);
    // A pod is named the same from every host; anything else is named with its host (a fleet's digest merges them).
    const t = i.target.pod?.name ? targetName(i.target) : `${i.host}: ${targetName(i.target) || 'node'}`;
    const o = offenders.get(t) ?? { count: 0, worst: i.value, unit: i.unit };
    o.count += 1;
    o.worst = Math.max(o.worst, i.value);
    offenders.set(t, o);
  }
  const entries = ledger.filter((e) => e.at >= from && e.at < to);
  const actions = new Map<string, { type: string; delivered: number; skipped: number; failed: number }>();
  const told = new Map<string, string>();
  for (const e of entries) {
    const a = actions.get(e.type) ?? { type: e.type, delivered: 0, skipped: 0, failed: 0 };
    if (e.state === 'failed') a.failed += 1;
    else if (e.state === 'skipped') a.skipped += 1;
    else a.delivered += 1;
    actions.set(e.type, a);
    // Notifications carry the outcome (one per incident and kind, whichever sibling delivered it).
    if (e.kind && e.state !== 'failed') told.set(`${e.incidentId}\0${e.kind}`, e.kind);
  }
  const kinds = [...told.values()];
  const n = (k: string): number => kinds.filter((x) => x === k).length;
  const reasons = new Map<string, { count: number; why: Map<string, number> }>();
  for (const s of suppressed) {
    if (s.since < from || s.since >= to) continue;
    const r = reasons.get(s.reason) ?? { count: 0, why: new Map() };
    r.count += 1;
    r.why.set(s.detail, (r.why.get(s.detail) ?? 0) + 1);
    reasons.set(s.reason, r);
  }
  return {
    hosts: [host],
    from,
    to,
    incidents: fired.length,
    perRule: counted(perRule),
    perWorkload: counted(perWorkload),
    offenders: [...offenders]
      .map(([target, o]) => ({ target, ...o }))
      .sort((a, b) => b.count - a.count || b.worst - a.worst || a.target.localeCompare(b.target)),
    actions: [...actions.values()].sort((a, b) => a.type.localeCompare(b.type)),
    scaled: n('scaled'),
    notScaled: n('scale-skipped'),
    verification: { recovered: n('recovered'), notRecovered: n('not-recovered'), overdue: n('verify-overdue') },
    suppressed: [...reasons]
      .map(([reason, r]) => ({ reason, count: r.count, why: counted(r.why).map(([w, c]) => `${w} (${c})`) }))
      .sort((a, b) => b.count - a.count),
    partial: fired
      .filter((r) => r.bundle?.partial)
      .map((r) => ({
        incident: r.id,
        rule: r.rule,
        host: r.incident.host,
        why: r.captureError ?? 'cut short (the bundle manifest says why: partial_reason)',
      })),
  };
}

function table(rows: readonly (readonly [string, number])[]): string {
  const shown = rows.slice(0, TOP).map(([k, v]) => `• ${codeSpan(k, 200)}: ${v}`);
  if (rows.length > TOP) shown.push(`…and ${rows.length - TOP} more`);
  return shown.join('\n') || '• none';
}

function section(text: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, SLACK_LIMITS.sectionText) } };
}

/** The digest as a Slack message. */
export function renderDigest(d: Digest, every: 'day' | 'week'): SlackMessage {
  const who = d.hosts.length === 1 ? d.hosts[0] : `${d.hosts.length} hosts`;
  const title = `tripline ${every === 'day' ? 'daily' : 'weekly'} digest for ${who}`;
  let span = `${new Date(d.from).toISOString().slice(0, 16)}Z – ${new Date(d.to).toISOString().slice(0, 16)}Z`;
  if (d.hosts.length > 1)
    span += ` · ${d.hosts
      .slice(0, 10)
      .map((h) => inertMrkdwn(h, 100))
      .join(', ')}${d.hosts.length > 10 ? `, …and ${d.hosts.length - 10} more` : ''}`;
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: safeText(title, SLACK_LIMITS.header) } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: span }] },
    section(`*${d.incidents} incidents*\n*Per rule*\n${table(d.perRule)}\n*Per workload*\n${table(d.perWorkload)}`),
  ];
  if (d.offenders.length)
    blocks.push(
      section(
        `*Top offenders*\n${d.offenders
          .slice(0, TOP)
          .map((o) => `• ${inertMrkdwn(o.target, 300)}: ${o.count} incidents, worst ${formatValue(o.worst, o.unit)}`)
          .join('\n')}`,
      ),
    );
  const acts = d.actions.map((a) => `• ${a.type}: ${a.delivered} done, ${a.skipped} skipped, ${a.failed} failed`);
  const v = d.verification;
  blocks.push(
    section(
      `*Actions*\n${acts.join('\n') || '• none'}\n• scaled ${d.scaled}, not scaled ${d.notScaled}; verified: ${v.recovered} recovered, ${v.notRecovered} not recovered, ${v.overdue} overdue`,
    ),
  );
  const sup = d.suppressed.map(
    (s) =>
      `• ${s.reason}: ${s.count} (${s.why
        .slice(0, 3)
        .map((w) => inertMrkdwn(w, 200))
        .join('; ')})`,
  );
  blocks.push(section(`*Suppressed trips*\n${sup.join('\n') || '• none'}`));
  const part = d.partial
    .slice(0, TOP)
    .map(
      (p) =>
        `• ${codeSpan(p.rule)} ${codeSpan(p.incident, 100)}${d.hosts.length > 1 && p.host ? ` on ${inertMrkdwn(p.host, 100)}` : ''}: ${inertMrkdwn(p.why, 300)}`,
    );
  if (d.partial.length > TOP) part.push(`…and ${d.partial.length - TOP} more`);
  blocks.push(section(`*Partial captures*\n${part.join('\n') || '• none'}`));
  const text = `${title}: ${d.incidents} incidents, ${d.scaled} scaled, ${d.suppressed.reduce((a, s) => a + s.count, 0)} suppressed, ${d.partial.length} partial captures`;
  return { text: safeText(text, SLACK_LIMITS.fallbackText), blocks };
}

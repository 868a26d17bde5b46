/**
 * `summary.md`: the findings in plain words for a person opening the bundle (and the Slack action's excerpt).
 * Frame names, comms, queries and label values come from outside: they are printed inside code spans with
 * backticks removed, or as plain text with markdown markup escaped, so they cannot inject links or markup.
 */
import type { Findings, StackWeight } from './types.ts';

/** What the summary needs besides the findings. */
export interface SummaryHead {
  readonly id: string;
  readonly title: string;
  /** The target's names (`shop/web-… (Deployment shop/web), container app`); '' when it has none. */
  readonly target?: string;
  readonly partial: boolean;
  readonly partialReason?: string;
  readonly probes: readonly { name: string; status: string; events: number; dropped: number; reason?: string }[];
  readonly errors: readonly string[];
  readonly redactions: readonly string[];
}

/** Inline code span of untrusted text: one line, no backticks, bounded length. */
export function code(s: string, max = 200): string {
  const one = s.replace(/[\r\n\t]+/g, ' ').replace(/`/g, "'");
  return '`' + (one.length > max ? one.slice(0, max - 1) + '…' : one) + '`';
}

/** Untrusted text as plain markdown: one line, markup characters escaped (no links, emphasis or headings). */
export function plain(s: string, max = 200): string {
  const one = s.replace(/[\r\n\t]+/g, ' ');
  return (one.length > max ? one.slice(0, max - 1) + '…' : one).replace(/[\\`*_{}[\]()#+!<>|~]/g, (c) => `\\${c}`);
}

/** Seconds in a readable unit (µs, ms, s). */
export function humanSeconds(s: number): string {
  if (s < 1e-3) return `${(s * 1e6).toFixed(0)} µs`;
  if (s < 1) return `${(s * 1e3).toFixed(1)} ms`;
  return `${s.toFixed(2)} s`;
}

function stackLine(s: StackWeight, total: number): string {
  const share = total > 0 ? ` (${((100 * s.weight) / total).toFixed(1)}%)` : '';
  const w = s.unit === 'seconds' ? humanSeconds(s.weight) : `${s.weight} samples`;
  const leafFirst = [...s.frames].reverse().slice(0, 6).join(' ← ');
  const who = s.comm ? ` in ${code(s.comm, 32)}` : '';
  const why = s.reason ? ` [${s.reason}]` : '';
  return `- ${w}${share}${who}${why}: ${code(leafFirst)}`;
}

/** Renders summary.md. Sections without data are left out; an empty capture says so. */
export function renderSummary(head: SummaryHead, f: Findings): string {
  const out: string[] = [`# ${plain(head.title)}`, '', `Bundle \`${head.id}\`.`];
  if (head.target) out.push('', `Target: ${plain(head.target, 600)}`);
  if (head.partial)
    out.push('', `**Partial capture**: ${head.partialReason ?? 'cut short'}. The data below is valid but incomplete.`);
  // The answer first: cause, culprit, number, and what to do about it.
  const d = f.diagnosis;
  if (d?.lead) out.push('', `**${plain(d.lead, 600)}**`, '', `What to do: ${plain(d.advice ?? '', 300)}`);
  out.push('', '## What happened', '');
  if (f.headlines.length === 0) out.push('- No probe recorded anything about the target during the capture.');
  for (const h of f.headlines) out.push(`- ${plain(h, 400)}`);
  if (f.diagnosis) {
    out.push('', `## Diagnosis: ${f.diagnosis.cause}`, '', plain(f.diagnosis.summary, 400), '');
    for (const a of f.diagnosis.also ?? [])
      out.push(`- also ${a.cause} (${Math.round(a.share * 100)}% of busy time): ${plain(a.summary, 300)}`);
    if (f.diagnosis.checked?.length) out.push(`- checked and normal: ${plain(f.diagnosis.checked.join('; '), 600)}`);
    for (const [k, v] of Object.entries(f.diagnosis.evidence))
      out.push(`- ${plain(k, 64)}: ${typeof v === 'number' ? +v.toFixed(4) : plain(v)}`);
  }
  if (f.neighbours.length > 0) {
    out.push('', '## Who ran while the target waited', '');
    for (const n of f.neighbours)
      out.push(
        `- pid ${n.pid} ${code(n.comm, 32)} in ${code(n.cgroupPath || n.cgroupId, 120)}: ${n.count} delays, ${humanSeconds(n.delaySeconds)} in total`,
      );
  }
  const offTotal = f.topOffCpu.reduce((a, s) => a + s.weight, 0);
  if (f.topOffCpu.length > 0) {
    out.push('', '## Top off-CPU stacks', '');
    for (const s of f.topOffCpu) out.push(stackLine(s, offTotal));
  }
  const onTotal = f.topOnCpu.reduce((a, s) => a + s.weight, 0);
  if (f.topOnCpu.length > 0) {
    out.push('', '## Top on-CPU stacks', '');
    for (const s of f.topOnCpu) out.push(stackLine(s, onTotal));
  }
  if (f.slowSyscalls.length > 0) {
    out.push('', '## Slowest syscalls', '');
    for (const s of f.slowSyscalls)
      out.push(
        `- ${humanSeconds(s.seconds)} ${code(s.syscall, 32)} by pid ${s.pid} ${code(s.comm, 32)}${s.args ? ` ${code(s.args, 120)}` : ''}`,
      );
  }
  if (f.slowQueries.length > 0) {
    out.push('', '## Slowest queries', '');
    for (const q of f.slowQueries) out.push(`- ${humanSeconds(q.seconds)} pid ${q.pid}: ${code(q.query, 160)}`);
  }
  const shifts = Object.entries(f.shifts);
  if (shifts.length > 0) {
    out.push('', '## Before the trip vs during the capture', '', '| signal | before | during |', '|---|---|---|');
    for (const [k, v] of shifts)
      out.push(`| ${plain(k, 120)} | ${+v.before.toPrecision(4)} | ${+v.during.toPrecision(4)} |`);
  }
  out.push('', '## Probes', '');
  for (const p of head.probes)
    out.push(
      `- ${p.name}: ${p.status}, ${p.events} events, ${p.dropped} dropped${p.reason ? ` (${plain(p.reason, 300)})` : ''}`,
    );
  if (head.errors.length > 0) {
    out.push('', '## Errors', '');
    for (const e of head.errors) out.push(`- ${code(e, 300)}`);
  }
  if (head.redactions.length > 0) out.push('', `Redacted: ${head.redactions.join(', ')}.`);
  return out.join('\n') + '\n';
}

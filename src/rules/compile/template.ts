/**
 * Annotation templates: `{{ .labels.pod }}`, `{{ .value | duration }}`, `{{ .summary | truncate 80 }}`.
 * Parsed once at load (errors carry the column), rendered per incident by plain own-property lookups
 * in the data given: no expressions, no calls, no prototype walk, so a rule file can only read the
 * incident's fields.
 */
import { TriplineError } from '../../errors.ts';

/** What a template may read. `labels` and `stats` are maps; the rest are scalars. */
export interface TemplateData {
  readonly rule: string;
  readonly value: number;
  readonly threshold: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly stats: Readonly<Record<string, number>>;
  readonly severity?: string;
}

const SCALARS = new Set(['rule', 'value', 'threshold', 'severity']);
const MAPS = new Set(['labels', 'stats']);
/** Pipes and whether they take a numeric argument. */
const PIPES: Record<string, boolean> = {
  duration: false,
  percent: false,
  rate: false,
  number: false,
  upper: false,
  lower: false,
  truncate: true,
};
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype', '__defineGetter__', '__lookupGetter__']);
/** Longest template accepted, and longest rendered output (an annotation is a line in a message, not a document). */
export const MAX_TEMPLATE_LENGTH = 4096;

type Part = string | { path: [string] | [string, string]; pipes: { name: string; arg?: number }[] };

/** A parsed template. */
export interface CompiledTemplate {
  readonly text: string;
  /** The fields it reads, as written without the dot: `labels.pod`, `value`, `stats.c0.p99`. */
  readonly refs: readonly string[];
  /** The text with each `{{ … }}` replaced by its value in `data`; missing labels render as empty. */
  render(data: TemplateData): string;
}

/** Error at column `col` (1-based, within the template text). */
export class TemplateError extends TriplineError {
  readonly column: number;
  constructor(message: string, column: number, hint: string) {
    super('RULE_ERR_TEMPLATE', message, { hint });
    this.column = column;
  }
}

/** Parses `text`; throws TemplateError (RULE_ERR_TEMPLATE) naming the column of the bad expression. */
export function compileTemplate(text: string): CompiledTemplate {
  if (text.length > MAX_TEMPLATE_LENGTH)
    throw new TemplateError(`template is longer than ${MAX_TEMPLATE_LENGTH} characters`, 1, 'shorten the annotation');
  const parts: Part[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    if (open < 0) {
      parts.push(text.slice(i));
      break;
    }
    if (open > i) parts.push(text.slice(i, open));
    const close = text.indexOf('}}', open + 2);
    if (close < 0) throw new TemplateError('unclosed {{', open + 1, 'close the expression with }}');
    const src = text.slice(open + 2, close);
    // The column of the expression itself (past `{{` and spaces), 1-based.
    parts.push(parseExpr(src, open + 3 + src.length - src.trimStart().length));
    i = close + 2;
  }
  const refs = Object.freeze(parts.flatMap((p) => (typeof p === 'string' ? [] : [p.path.join('.')])));
  return Object.freeze({ text, refs, render: (data: TemplateData) => renderParts(parts, data) });
}

function parseExpr(src: string, col: number): Part {
  const [head, ...pipeSrc] = src.split('|');
  const ref = head.trim();
  const m = /^\.([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+)*)$/.exec(ref);
  if (!m)
    throw new TemplateError(
      `${JSON.stringify(ref)} is not a field reference`,
      col,
      'write a field like .labels.pod, .value, .threshold, .rule or .stats.p99',
    );
  const root = m[1];
  const segs = m[2] ? m[2].slice(1).split('.') : [];
  // Stats of a condition are named like `c0.p99`: the rest of the path is one key, never a walk.
  const key = segs.length ? segs.join('.') : undefined;
  if (FORBIDDEN.has(root) || segs.some((s) => FORBIDDEN.has(s)))
    throw new TemplateError(
      `${ref} reaches outside the template data`,
      col,
      'templates read only .labels.NAME, .stats.NAME, .value, .threshold, .rule, .severity',
    );
  if (SCALARS.has(root) && key !== undefined)
    throw new TemplateError(`.${root} has no field ${key}`, col, `write .${root}`);
  if (MAPS.has(root) && key === undefined) throw new TemplateError(`.${root} needs a name`, col, `write .${root}.NAME`);
  if (root === 'labels' && segs.length > 1)
    throw new TemplateError(`.labels.${key} is not a label name`, col, 'write .labels.NAME');
  if (!SCALARS.has(root) && !MAPS.has(root))
    throw new TemplateError(
      `unknown field .${root}`,
      col,
      'fields are .labels.NAME, .stats.NAME, .value, .threshold, .rule, .severity',
    );
  const pipes = pipeSrc.map((p) => {
    const [name, arg, ...extra] = p.trim().split(/\s+/);
    if (!Object.hasOwn(PIPES, name))
      throw new TemplateError(
        `unknown pipe ${JSON.stringify(name)}`,
        col,
        `pipes are: ${Object.keys(PIPES).join(', ')}`,
      );
    if (PIPES[name]) {
      if (arg === undefined || !/^\d{1,4}$/.test(arg) || extra.length)
        throw new TemplateError(`pipe ${name} needs one whole number`, col, `write | ${name} 80`);
      return { name, arg: Number(arg) };
    }
    if (arg !== undefined) throw new TemplateError(`pipe ${name} takes no argument`, col, `write | ${name}`);
    return { name };
  });
  return { path: key === undefined ? [root] : [root, key], pipes };
}

function lookup(data: TemplateData, path: [string] | [string, string]): unknown {
  const d = data as unknown as Record<string, unknown>;
  const top = Object.hasOwn(d, path[0]) ? d[path[0]] : undefined;
  if (path.length === 1) return top;
  if (top === null || typeof top !== 'object') return undefined;
  return Object.hasOwn(top, path[1]) ? (top as Record<string, unknown>)[path[1]] : undefined;
}

function renderParts(parts: Part[], data: TemplateData): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    let v: unknown = lookup(data, p.path);
    // A statistic or value without data renders as n/a rather than vanishing from the sentence.
    if (
      (p.path[0] === 'stats' || p.path[0] === 'value') &&
      (v === undefined || (typeof v === 'number' && !Number.isFinite(v)))
    ) {
      out += 'n/a';
      continue;
    }
    for (const pipe of p.pipes) v = applyPipe(pipe.name, v, pipe.arg);
    out += v === undefined || v === null ? '' : typeof v === 'object' ? '' : String(v);
  }
  return out.length > MAX_TEMPLATE_LENGTH ? out.slice(0, MAX_TEMPLATE_LENGTH) : out;
}

function applyPipe(name: string, v: unknown, arg?: number): unknown {
  const n = typeof v === 'number' ? v : Number(v);
  switch (name) {
    case 'duration':
      return Number.isFinite(n) ? formatSeconds(n) : v;
    case 'percent':
      return Number.isFinite(n) ? `${trim(n * 100)}%` : v;
    case 'rate':
      return Number.isFinite(n) ? `${trim(n)}/s` : v;
    case 'number':
      return Number.isFinite(n) ? trim(n) : v;
    case 'upper':
      return String(v ?? '').toUpperCase();
    case 'lower':
      return String(v ?? '').toLowerCase();
    case 'truncate': {
      const s = String(v ?? '');
      return s.length > arg! ? s.slice(0, arg) + '…' : s;
    }
  }
  return v;
}

/** Seconds as a short human duration: 0.0123 → `12.3ms`, 95 → `1m35s`. */
export function formatSeconds(s: number): string {
  const a = Math.abs(s);
  if (a === 0) return '0s';
  if (a < 1e-3) return `${trim(s * 1e6)}us`;
  if (a < 1) return `${trim(s * 1e3)}ms`;
  if (a < 60) return `${trim(s)}s`;
  const m = Math.floor(a / 60);
  const rest = Math.round(a - m * 60);
  return `${s < 0 ? '-' : ''}${m}m${rest ? `${rest}s` : ''}`;
}

/** Three significant digits below 100, whole numbers above, no trailing zeros. */
function trim(n: number): string {
  return String(Math.abs(n) >= 100 ? Math.round(n) : Number(n.toPrecision(3)));
}

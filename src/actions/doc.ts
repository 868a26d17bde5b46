/**
 * The Actions section of docs/rules.md, rendered from the registry: per action type its summary (the entry's
 * `doc`) and a table of its options with their defaults and meanings, read from the entry's own schema (the
 * same JSON Schema editors get). scripts/gen-schema.ts writes it between the markers; test/rules/rules-doc.test.ts
 * fails when the committed section is stale.
 */
import { z } from 'zod';
import { parse } from 'yaml';
import { TriplineError } from '../errors.ts';
import type { Action } from './types.ts';
import { ACTIONS, type ActionRegistry } from './registry.ts';

/** The marker lines around the generated section in docs/rules.md. */
export const ACTIONS_DOC_BEGIN =
  '<!-- actions: generated from src/actions/registry.ts by scripts/gen-schema.ts; edit the action modules -->';
export const ACTIONS_DOC_END = '<!-- end of generated actions -->';

type JsonNode = { readonly [k: string]: unknown };

/** A value as a rule file would write it: `10m`, `'+1'` (plain +1 would read as a number), `[limit-bound]`. */
function yamlText(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(yamlText).join(', ')}]`;
  if (typeof v === 'string') return parse(v) === v && v !== '' ? v : `'${v.replace(/'/g, "''")}'`;
  return JSON.stringify(v);
}

/** Text safe inside a table cell (a `|`, even in a code span, would end the cell). */
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** One action's part of the section: heading, summary, options table. */
function actionSection(mod: Action): string {
  const schema = z.toJSONSchema(mod.spec, { io: 'input', unrepresentable: 'any' }) as JsonNode;
  const props = (schema.properties ?? {}) as Record<string, JsonNode>;
  const required = new Set((schema.required ?? []) as string[]);
  const rows = Object.entries(props)
    .filter(([k]) => k !== 'type')
    .map(([k, p]) => {
      if (typeof p.description !== 'string')
        throw new TriplineError('ACTION_ERR_CONFIG', `action ${mod.type}: option ${k} has no description`, {
          hint: `add .describe('what ${k} means') to its field in the ${mod.type} action's schema`,
        });
      const dflt = 'default' in p ? `\`${yamlText(p.default)}\`` : required.has(k) ? 'required' : 'none';
      return `| \`${k}\` | ${cell(dflt)} | ${cell(p.description)} |`;
    });
  const table = rows.length
    ? ['| key | default | meaning |', '|---|---|---|', ...rows].join('\n')
    : `No options: \`{type: ${mod.type}}\`.`;
  return `#### \`${mod.type}\`\n\n${mod.doc.summary}\n\n${table}\n`;
}

/** The generated section (between the markers, markers excluded), one part per registered action, in registry order. */
export function actionsReference(registry: ActionRegistry = ACTIONS): string {
  const mods = Object.values(registry).filter((m): m is Action => m !== undefined);
  return mods.map(actionSection).join('\n');
}

/** `markdown` with the text between the markers replaced by `actionsReference(registry)`. */
export function withActionsReference(markdown: string, registry: ActionRegistry = ACTIONS): string {
  const begin = markdown.indexOf(ACTIONS_DOC_BEGIN);
  const end = markdown.indexOf(ACTIONS_DOC_END);
  if (begin < 0 || end < begin)
    throw new TriplineError('ACTION_ERR_CONFIG', 'docs/rules.md: the generated actions markers are missing', {
      hint: `put ${ACTIONS_DOC_BEGIN} and ${ACTIONS_DOC_END} around the Actions section's table`,
    });
  const head = markdown.slice(0, begin + ACTIONS_DOC_BEGIN.length);
  return `${head}\n\n${actionsReference(registry)}\n${markdown.slice(end)}`;
}

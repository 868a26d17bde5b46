/**
 * zod issues turned into rule problems a person can act on: unknown keys with the closest allowed key,
 * missing keys, wrong types and enum values with the list of valid ones, and for unions the branch
 * that got furthest rather than "invalid input".
 */
import type { z } from 'zod';
import { TriplineError } from '../../errors.ts';
import type { PathSeg } from './locate.ts';
import { keysAt } from './json-schema.ts';
import { didYouMean } from './suggest.ts';

/** One problem: where (path, and whether at the key), and the error without location. */
export interface Problem {
  readonly path: PathSeg[];
  readonly atKey: boolean;
  readonly error: TriplineError;
}

type Issue = z.core.$ZodIssue;

function valueAt(data: unknown, path: readonly PathSeg[]): unknown {
  let v = data;
  for (const s of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, s)) return undefined;
    v = (v as Record<PathSeg, unknown>)[s];
  }
  return v;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`.slice(0, 60);
}

/** The union branch that got furthest: deepest first issue, then fewest issues. */
function bestBranch(branches: Issue[][]): Issue[] {
  const depth = (b: Issue[]): number =>
    Math.max(...b.map((i) => i.path.length + (i.code === 'invalid_type' ? 0 : 0.5)));
  return [...branches].sort((a, b) => depth(b) - depth(a) || a.length - b.length)[0] ?? [];
}

/** Converts the issues of a failed parse of `data` with `schema` (a document kind's schema). */
export function problemsFromZod(
  schema: z.ZodType,
  issues: readonly Issue[],
  data: unknown,
  base: PathSeg[] = [],
): Problem[] {
  const out: Problem[] = [];
  const err = (message: string, hint: string): TriplineError => new TriplineError('RULE_ERR_SCHEMA', message, { hint });
  // A cross-key check on an object that already has unknown keys only repeats the problem.
  const unknownAt = new Set(issues.filter((i) => i.code === 'unrecognized_keys').map((i) => JSON.stringify(i.path)));
  for (const issue of issues) {
    if (issue.code === 'custom' && unknownAt.has(JSON.stringify(issue.path))) continue;
    const path = [...base, ...(issue.path as PathSeg[])];
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          const allowed = keysAt(schema, path, valueAt(data, path));
          out.push({
            path: [...path, key],
            atKey: true,
            error: err(
              `unknown key ${JSON.stringify(key)}`,
              didYouMean(key, allowed, allowed.length ? `allowed keys here: ${allowed.join(', ')}` : 'remove it'),
            ),
          });
        }
        break;
      case 'invalid_union': {
        const got = valueAt(data, path);
        if (issue.errors.length === 0 && /discriminator/i.test(issue.message)) {
          // A discriminated union (action `type`): say which values exist, and which one was meant.
          const options = [...issue.message.matchAll(/'([^']+)'/g)].map((m) => m[1]);
          const hint =
            typeof got === 'string'
              ? didYouMean(got, options, `one of: ${options.join(', ')}`)
              : `one of: ${options.join(', ')}`;
          out.push({
            path,
            atKey: false,
            error: err(
              `${JSON.stringify(got)} is not one of ${options.map((o) => JSON.stringify(o)).join(', ')}`,
              hint,
            ),
          });
          break;
        }
        const branch = bestBranch(issue.errors as Issue[][]);
        const deeper =
          branch.length &&
          branch.some((i) => i.path.length > 0 || i.code === 'unrecognized_keys' || i.code === 'custom');
        if (deeper) out.push(...problemsFromZod(schema, branch, data, path));
        else
          out.push({
            path,
            atKey: false,
            error: err(
              `${issue.message.replace(/^Invalid input$/, 'invalid value')}, got ${describe(got)}`,
              'see docs/rules.md for the accepted forms',
            ),
          });
        break;
      }
      case 'invalid_type': {
        const got = valueAt(data, path);
        if (got === undefined) {
          const key = path[path.length - 1];
          out.push({
            path,
            atKey: true,
            error: err(`missing required key ${JSON.stringify(key)}`, `add ${String(key)}: (see docs/rules.md)`),
          });
        } else {
          const expected = YAML_WORDS[String(issue.expected)] ?? `a ${String(issue.expected)}`;
          const msg = issue.message.startsWith('Invalid input') ? `expected ${expected}` : issue.message;
          out.push({
            path,
            atKey: false,
            error: err(`${msg}, got ${describe(got)}`, typeHint(msg, String(issue.expected), got)),
          });
        }
        break;
      }
      case 'invalid_value': {
        const got = valueAt(data, path);
        const options = issue.values.map((v) => String(v));
        const hint =
          typeof got === 'string'
            ? didYouMean(got, options, `one of: ${options.join(', ')}`)
            : `one of: ${options.join(', ')}`;
        out.push({
          path,
          atKey: false,
          error: err(`${JSON.stringify(got)} is not one of ${options.map((o) => JSON.stringify(o)).join(', ')}`, hint),
        });
        break;
      }
      default: {
        const got = valueAt(data, path);
        const msg = issue.message.replace(/^Invalid input: /, '').replace(/^Invalid string: /, '');
        out.push({
          path,
          atKey: false,
          error: err(
            `${msg}${got !== undefined && typeof got !== 'object' ? `, got ${describe(got)}` : ''}`,
            hintFor(issue),
          ),
        });
      }
    }
  }
  return out;
}

/** zod's type names in the words of YAML. */
const YAML_WORDS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
};

function typeHint(msg: string, expected: string, got: unknown): string {
  // A bare number where a duration belongs: say which unit to add.
  if (/duration/.test(msg) && typeof got === 'number')
    return `write ${got}s (durations need a unit: us, ms, s, m, h, d)`;
  if (expected === 'string') return 'write a string (quote it)';
  if (expected === 'array') return 'write a list: [a, b] or one "- item" per line';
  if (expected === 'object') return 'write a mapping: {key: value} or one "key: value" per line';
  return `write ${YAML_WORDS[expected] ?? `a ${expected}`} here`;
}

function hintFor(issue: Issue): string {
  if (issue.code === 'too_small')
    return issue.origin === 'array' ? 'add at least one item' : `use a value of at least ${String(issue.minimum)}`;
  if (issue.code === 'too_big') return `use a value of at most ${String(issue.maximum)}`;
  return 'see docs/rules.md';
}

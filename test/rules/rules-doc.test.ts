// docs/rules.md stays true to the schema: every key of every document kind, every stat, matcher
// operator and template pipe is documented, the Actions section is the one the action registry
// renders, and every example document in it is valid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ruleJsonSchema } from '../../src/rules/parse/json-schema.ts';
import { STATS } from '../../src/rules/compile/units.ts';
import { KINDS } from '../../src/rules/parse/schema.ts';
import { parseRuleFile } from '../../src/rules/parse/parse-file.ts';
import { ACTIONS } from '../../src/actions/registry.ts';
import { withActionsReference } from '../../src/actions/doc.ts';

const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'rules.md'), 'utf8');

/** Every property name anywhere in a JSON Schema. */
function propertyNames(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const n of node) propertyNames(n, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'properties') for (const p of Object.keys(v as object)) out.add(p);
      propertyNames(v, out);
    }
  }
  return out;
}

/** True when `word` appears inside some `code span` of the doc. */
function documented(word: string): boolean {
  const esc = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp('`[^`\\n]*(?<![\\w-])' + esc + '(?![\\w-])[^`\\n]*`').test(doc);
}

test('every key of the schema is documented', () => {
  const keys = [...propertyNames(ruleJsonSchema(ACTIONS))].sort();
  assert.ok(keys.length > 50, `only ${keys.length} keys found`);
  assert.deepEqual(
    keys.filter((k) => !documented(k)),
    [],
  );
});

test('every kind, stat, matcher operator and pipe is documented', () => {
  const words = [
    ...KINDS,
    ...STATS,
    'not',
    'regex',
    'not_regex',
    'in',
    'not_in',
    '| duration',
    '| percent',
    '| rate',
    '| number',
    '| upper',
    '| lower',
    '| truncate N',
  ];
  assert.deepEqual(
    words.filter((w) => !documented(w)),
    [],
  );
});

test('every example document in the doc is valid', () => {
  const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((m) => m[1])
    .filter((b) => b.startsWith('apiVersion:'));
  assert.ok(blocks.length >= 4, `${blocks.length} complete examples`);
  for (const b of blocks) {
    const f = parseRuleFile('docs/rules.md', b, { actions: ACTIONS });
    assert.deepEqual(
      f.errors.map((e) => e.message),
      [],
      b.split('\n')[1],
    );
  }
});

test('the Actions section is generated from the action registry (regenerate: scripts/node scripts/gen-schema.ts)', () => {
  assert.equal(doc, withActionsReference(doc, ACTIONS));
  for (const type of Object.keys(ACTIONS)) assert.ok(doc.includes(`#### \`${type}\``), type);
});

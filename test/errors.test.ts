// docs/errors.md and ERROR_CODES agree: every code is documented once with a meaning and a fix, and
// the doc lists no code that does not exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from '../src/errors.ts';

const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'errors.md'), 'utf8');
const rows = [...doc.matchAll(/^\| `([A-Z]+_ERR_[A-Z_]+)` \| (.*) \| (.*) \|$/gm)];

test('every error code is documented with a meaning and a fix', () => {
  const documented = rows.map((r) => r[1]);
  const missing = ERROR_CODES.filter((c) => !documented.includes(c));
  assert.deepEqual(missing, [], `add these codes to docs/errors.md: ${missing.join(', ')}`);
  for (const [, code, meaning, fix] of rows) {
    assert.ok(meaning.trim().length > 10 && fix.trim().length > 5, `${code}: meaning and fix must be filled in`);
  }
});

test('the doc lists each code once and no unknown code', () => {
  const documented = rows.map((r) => r[1]);
  assert.deepEqual(
    documented.filter((c, i) => documented.indexOf(c) !== i),
    [],
    'codes listed twice',
  );
  const unknown = documented.filter((c) => !(ERROR_CODES as readonly string[]).includes(c));
  assert.deepEqual(unknown, [], `not in ERROR_CODES: ${unknown.join(', ')}`);
  // Every code-looking word anywhere in the doc is a real code (catches typos outside the table).
  const words = [...new Set(doc.match(/\b[A-Z]+_ERR_[A-Z_]+\b/g) ?? [])];
  assert.deepEqual(
    words.filter((w) => !(ERROR_CODES as readonly string[]).includes(w)),
    [],
  );
});

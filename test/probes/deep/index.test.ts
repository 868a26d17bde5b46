import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deepProbes } from '../../../src/probes/deep/index.ts';

const doc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'probes.md'), 'utf8');

test("every catalog key is its probe's name, a lowercase token", () => {
  for (const [key, p] of Object.entries(deepProbes)) {
    assert.equal(p.name, key);
    assert.match(key, /^[a-z][a-z0-9]*$/);
    assert.ok(p.description.length > 10);
  }
});

test('every probe has a section in docs/probes.md naming each of its options', () => {
  for (const [key, p] of Object.entries(deepProbes)) {
    assert.ok(doc.includes(`## ${key}\n`), `docs/probes.md has no "## ${key}" section`);
    const section = doc.split(`## ${key}\n`)[1].split('\n## ')[0];
    for (const opt of Object.keys(p.options.shape))
      assert.ok(section.includes(`\`${opt}\``), `${key}: option ${opt} undocumented`);
  }
});

test("options are strict: an unknown key is rejected by every probe's schema", () => {
  for (const p of Object.values(deepProbes))
    assert.equal(p.options.safeParse({ no_such_option: 1 }).success, false, p.name);
});

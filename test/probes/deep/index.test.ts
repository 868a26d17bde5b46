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

test("docs/probes.md's catalog table is the registry's doc rows, one per probe, in catalog order", () => {
  const rows = doc.split('\n').filter((l) => l.startsWith('| `'));
  assert.deepEqual(
    rows,
    Object.values(deepProbes).map((p) => `| \`${p.name}\` | ${p.doc.what} | ${p.doc.hooks} | ${p.doc.cost} |`),
  );
});

test('every probe has a positive budget and a summary schema', () => {
  for (const p of Object.values(deepProbes)) {
    assert.ok(Number.isInteger(p.budget.maxEvents) && p.budget.maxEvents > 0, p.name);
    assert.ok(Number.isInteger(p.budget.maxBytes) && p.budget.maxBytes > 0, p.name);
    assert.equal(p.summary.safeParse(undefined).success, false, `${p.name}: a summary is an object`);
  }
});

test("the README's deep probe list names every probe", () => {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', '..', 'README.md'), 'utf8');
  const para = readme.split('\nDeep probes (')[1].split('\n\n')[0];
  const named = [...para.matchAll(/`([a-z0-9]+)`/g)].map((m) => m[1]);
  assert.deepEqual(named, Object.keys(deepProbes));
});

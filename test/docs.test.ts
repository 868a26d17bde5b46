import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { allSignals } from '../src/signals.ts';
import { FAMILY_SPECS } from '../src/probes/counters/spec/index.ts';
import { loadConfig, ConfigSchema } from '../src/config.ts';
import { COMMANDS } from '../src/cli/main.ts';

const root = join(import.meta.dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

test('README: the quick start gives exactly the two commands, and CI runs the same test command', () => {
  const section = readme.split('## Quick start')[1].split('\n## ')[0];
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1].trim().split('\n');
  assert.equal(block.length, 2);
  assert.match(block[0], /^scripts\/setup\.sh && bin\/tripline run/);
  assert.match(block[1], /^scripts\/setup\.sh --test && npm test/);
  const ci = readFileSync(join(root, '.ci', 'run'), 'utf8');
  assert.match(ci, /scripts\/setup\.sh --test\nnpm test\n/);
});

test('README: the signal catalog table lists every signal with its kind, unit and labels', () => {
  for (const s of allSignals()) {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${s.name}\` |`));
    assert.ok(row, `README lists ${s.name}`);
    assert.ok(
      row.includes(`| ${s.kind} | ${s.unit} | ${s.labels.join(', ')} |`),
      `README row of ${s.name} matches the catalog`,
    );
  }
});

test("README: the counter probe catalog is the families' doc rows, one per family, in registry order", () => {
  const section = readme.split('\n## Probe catalog\n')[1].split('\nDeep probes (')[0];
  const rows = section.split('\n').filter((l) => l.startsWith('| `'));
  assert.deepEqual(
    rows,
    Object.values(FAMILY_SPECS).map((f) => `| \`${f.name}\` | ${f.doc.hooks} | ${f.doc.signals} |`),
  );
  for (const f of Object.values(FAMILY_SPECS))
    for (const name of Object.keys(f.signals))
      assert.ok(f.doc.signals.includes(`\`${name}\``), `${f.name} names ${name}`);
});

test('README: every command is listed', () => {
  for (const c of Object.keys(COMMANDS)) assert.match(readme, new RegExp(`\\| \`tripline ${c}`), c);
});

test('tripline.example.yaml is a valid config equal to the defaults, and names every top-level option', () => {
  const file = join(root, 'tripline.example.yaml');
  const fromFile = loadConfig(file, {});
  const defaults = loadConfig(undefined, {});
  assert.deepEqual({ ...fromFile, rules: defaults.rules }, defaults);
  const doc = parseDocument(readFileSync(file, 'utf8')).toJS() as Record<string, unknown>;
  for (const key of Object.keys(ConfigSchema.shape)) assert.ok(key in doc, `example has ${key}`);
});

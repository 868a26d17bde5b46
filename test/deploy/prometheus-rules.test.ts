// deploy/prometheus: the rule file passes `promtool check rules`, its unit tests pass `promtool test rules` (both
// from Debian's prometheus package, installed by scripts/setup.sh --test), and every tripline metric it reads is
// one the engine documents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..', '..');
const dir = join(root, 'deploy', 'prometheus');

function promtool(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`promtool: ${r.error.message} (scripts/setup.sh --test installs Debian's prometheus)`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('promtool check rules: deploy/prometheus/tripline.rules.yml is valid', () => {
  const r = promtool(['check', 'rules', 'tripline.rules.yml']);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /SUCCESS: \d+ rules found/);
});

test('promtool test rules: the recording rules compute what their tests expect, the health alerts fire when they should', () => {
  const r = promtool(['test', 'rules', 'tripline.rules.test.yml']);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /SUCCESS/);
});

test('every alert has a unit test, and every tripline metric the rules read is documented', () => {
  const rules = parse(readFileSync(join(dir, 'tripline.rules.yml'), 'utf8')) as {
    groups: { rules: { alert?: string; record?: string; expr: string }[] }[];
  };
  const tests = readFileSync(join(dir, 'tripline.rules.test.yml'), 'utf8');
  const docs = readFileSync(join(root, 'docs', 'metrics.md'), 'utf8') + readFileSync(join(root, 'README.md'), 'utf8');
  for (const r of rules.groups.flatMap((g) => g.rules)) {
    const name = r.alert ?? r.record!;
    assert.ok(tests.includes(r.alert ? `alertname: ${name}` : `expr: ${name}`), `${name} has a test`);
    for (const m of r.expr.match(/\btripline_[a-z0-9_]+/g) ?? []) {
      const base = m.replace(/_(bucket|count|sum)$/, '');
      assert.ok(docs.includes(base), `${name} reads ${m}, which docs/metrics.md or the README names`);
    }
  }
});

// `tripline check` as a user runs it: the real bin/tripline in a child process, exit codes 0/1/2,
// summaries on stdout, located errors on stderr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'tripline');
const bad = relative(root, join(import.meta.dirname, '..', 'rules', 'fixtures', 'bad'));

function check(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(bin, ['check', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('valid rules: exit 0, one summary line per file', () => {
  const r = check();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const lines = r.stdout.trim().split('\n');
  assert.ok(lines.includes('rules/cpu-throttling.yaml: ok, 1 rule (cpu-throttling)'), r.stdout);
  assert.ok(lines.includes('rules/cpu-throttling.test.yaml: ok, 1 test (cpu-throttling)'), r.stdout);
  for (const l of lines) assert.match(l, /^rules\/[a-z0-9.-]+\.yaml: ok, /);
});

test('invalid rules: exit 1, every error as file:line:col: message with its hint', () => {
  const r = check(join(bad, 'wrong-type.yaml'), join(bad, 'unknown-key.yaml'));
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(
    r.stderr,
    [
      `${bad}/wrong-type.yaml:6:13: spec.severity: "loud" is not one of "info", "warning", "critical" [RULE_ERR_SCHEMA]`,
      '  hint: one of: info, warning, critical',
      `${bad}/wrong-type.yaml:7:23: spec.max_trips_per_hour: expected a number, got string "ten" [RULE_ERR_SCHEMA]`,
      '  hint: write a number here',
      `${bad}/unknown-key.yaml:9:5: spec.when.windw: unknown key "windw" [RULE_ERR_SCHEMA]`,
      '  hint: did you mean "window"?',
      'tripline check: 3 errors; rule set rejected',
      '',
    ].join('\n'),
  );
});

test('the whole bad corpus: exit 1, every error line located, no crash', () => {
  const r = check(bad);
  assert.equal(r.code, 1);
  const errors = r.stderr
    .split('\n')
    .filter((l) => l && !l.startsWith('  hint: ') && !l.startsWith('tripline check: '));
  assert.ok(errors.length >= 15, r.stderr);
  for (const l of errors) assert.match(l, /^test\/rules\/fixtures\/bad\/[^:]+:\d+:\d+: .+ \[RULE_ERR_[A-Z]+\]$/);
});

test('usage errors: exit 2', () => {
  const r = check('--frobnicate');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^tripline check: unknown option "--frobnicate"\nusage: tripline check/);
});

test('a missing path: exit 1 with a located error', () => {
  const r = check('no/such/dir');
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^no\/such\/dir:1:1: no such file or folder \[RULE_ERR_FILE\]\n  hint: pass a rule file or a folder of \*\.yaml files\n/,
  );
});

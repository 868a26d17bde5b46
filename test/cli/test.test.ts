import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-clitest-`));
after(() => rmSync(dir, { recursive: true, force: true }));

function tripline(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'src/cli/main.ts'), 'test', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('tripline test rules/ runs every example rule test and passes', () => {
  const r = tripline('rules');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /\b(\d+) test\(s\), 0 failed/);
  for (const name of [
    'cpu-throttling',
    'runq-latency',
    'syscall-latency',
    'tcp-connect-latency',
    'tcp-retransmits',
    'blockio-latency',
    'pg-query-latency',
    'http-latency',
    'http-errors',
  ])
    assert.match(r.out, new RegExp(`ok +${name} `));
});

test('a failing expectation exits 1 with file:line: at T: expected … got …', () => {
  cpSync(join(root, 'rules'), join(dir, 'rules'), { recursive: true });
  const f = join(dir, 'rules', 'tcp-retransmits.test.yaml');
  writeFileSync(f, readFileSync(f, 'utf8').replace('value: 20/s', 'value: 30/s'));
  const r = tripline(join(dir, 'rules', 'tcp-retransmits.test.yaml'));
  assert.equal(r.code, 1);
  assert.match(
    r.err,
    new RegExp(
      `^${f.replace(/[.]/g, '\\.')}:\\d+: at 121s: firing tcp-retransmits\\{cgroup="/kubepods/besteffort/podccc/proxy"\\} value 30/s: expected value 30/s got 20/s$`,
      'm',
    ),
  );
  assert.match(r.out, /1 test\(s\), 1 failed/);
});

test('usage errors exit 2; no tests exit 1', () => {
  assert.equal(tripline('--frobnicate').code, 2);
  const empty = join(dir, 'empty');
  cpSync(join(root, 'rules', 'tcp-retransmits.yaml'), join(empty, 'tcp-retransmits.yaml'), { recursive: true });
  const r = tripline(empty);
  assert.equal(r.code, 1);
  assert.match(r.err, /no RuleTest documents/);
});

// Rules cannot run programs: a rule naming a binary (bpftrace's or PostgreSQL's) or an unknown probe option is
// refused at load with file:line, as `tripline check` reports it; good options load with their defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRules } from '../../src/rules/load.ts';
import { ACTIONS } from '../../src/actions/registry.ts';
import { deepProbes } from '../../src/probes/deep/index.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'tripline');

function ruleWithCapture(capture: string): string {
  return `apiVersion: tripline.dev/v1
kind: Rule
metadata:
  name: r
spec:
  when: {signal: runq_delay_seconds, stat: p99, window: 30s, above: 10ms}
  capture:
${capture}
`;
}

function load(capture: string) {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-probe-opts-'));
  const file = join(dir, 'r.yaml');
  writeFileSync(file, ruleWithCapture(capture));
  try {
    const r = loadRules([file], { actions: ACTIONS, probes: deepProbes });
    return { file, errors: r.errors.map((e) => e.message), rules: r.ruleSet?.rules ?? [] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a rule naming a bpftrace or postgres binary is refused with file:line', () => {
  const bt = load('    probes: [bpftrace]\n    options:\n      bpftrace: {program: "BEGIN {}", bpftrace: /bin/bash}');
  assert.equal(bt.errors.length, 1, bt.errors.join('\n'));
  assert.match(
    bt.errors[0],
    new RegExp(
      `^${bt.file.replace(/[.]/g, '\\.')}:10:\\d+: spec\\.capture\\.options\\.bpftrace\\.bpftrace: unknown key`,
    ),
  );
  const pg = load('    probes: [pg]\n    options:\n      pg: {binary: /tmp/evil}');
  assert.equal(pg.errors.length, 1, pg.errors.join('\n'));
  assert.match(pg.errors[0], /:10:\d+: spec\.capture\.options\.pg\.binary: unknown key/);
});

test('unknown probes and bad option values are refused; good options load with their defaults', () => {
  assert.match(load('    probes: [bogus]').errors[0], /spec\.capture\.probes\[0\]: "bogus" is not one of "offcpu"/);
  assert.match(
    load('    probes: [io]\n    options:\n      io: {threshold_ms: -1}').errors[0],
    /spec\.capture\.options\.io\.threshold_ms/,
  );
  assert.match(load('    options:\n      nosuch: {}').errors[0], /spec\.capture\.options\.nosuch: unknown key/);
  const ok = load('    probes: [io]\n    options:\n      io: {threshold_ms: 5}');
  assert.deepEqual(ok.errors, []);
  assert.deepEqual(ok.rules[0].capture?.options.io, { threshold_ms: 5, slowest: 20 });
});

test('tripline check refuses capture.options.bpftrace.bpftrace: /bin/bash with file:line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-check-bt-'));
  try {
    const file = join(dir, 'evil.yaml');
    writeFileSync(
      file,
      ruleWithCapture(
        '    probes: [bpftrace]\n    options:\n      bpftrace: {program: "BEGIN {}", bpftrace: /bin/bash}',
      ),
    );
    const r = spawnSync(bin, ['check', file], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(
      r.stdout + r.stderr,
      new RegExp(`${file.replace(/[.]/g, '\\.')}:10:\\d+: spec\\.capture\\.options\\.bpftrace\\.bpftrace: unknown key`),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

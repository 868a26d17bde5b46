import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeBundle } from '../../src/bundle/writer.ts';
import { findings, profileResult } from '../bundle/fixtures/results.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'tripline');
const run = (args: string[]) =>
  promisify(execFile)(BIN, args, { timeout: 60_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

const root = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-cli-bundles-`));
after(() => rmSync(root, { recursive: true, force: true }));

test('tripline bundles list and show (with the schema check, which catches an edit)', async () => {
  const t0 = Date.parse('2026-02-03T04:05:06Z');
  const budget = { durationMs: 1000, maxEvents: 10, maxBytes: 1000 };
  const ref = await writeBundle({
    root,
    rule: 'api-slow',
    probesFrom: 'cli',
    durationMs: 1000,
    target: { pids: [1] },
    timings: { tripAt: t0, attachStartedAt: t0, attachedAt: t0 + 2, detachedAt: t0 + 1002 },
    probes: [{ name: 'profile', status: 'ok', budget, result: profileResult(t0) }],
    findings,
    partial: false,
  });
  const list = await run(['bundles', 'list', '--dir', root]);
  assert.equal(list.code, 0, list.stderr);
  // No incident (a capture by hand): the machine's host name; no cgroup: "-" where the target names go.
  assert.match(
    list.stdout,
    new RegExp(`^${ref.id}  2026-02-03T04:05:06.000Z  ${hostname()}  api-slow  -  profile  \\d+ KiB\\n$`),
  );
  const show = await run(['bundles', 'show', ref.id, '--check', '--dir', root]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /preempted mostly by pid 4711/);
  assert.match(show.stdout, /schema check: ok/);
  appendFileSync(join(ref.dir, 'findings.json'), ' ');
  const bad = await run(['bundles', 'show', ref.id, '--check', '--dir', root]);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /findings\.json: \d+ bytes, manifest says \d+/);
  const missing = await run(['bundles', 'show', '20260203T040506-api-slow-00000000', '--dir', root]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /BUNDLE_ERR_NOT_FOUND/);
  assert.equal((await run(['bundles', 'list', '--bogus'])).code, 2);
  assert.equal((await run(['bundles', 'frob'])).code, 2);
});

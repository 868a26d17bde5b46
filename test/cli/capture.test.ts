import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseCaptureArgs } from '../../src/cli/capture-args.ts';
import { resolveTarget } from '../../src/cli/capture.ts';
import { validateBundle } from '../../src/bundle/validate.ts';
import { hasCode } from '../../src/errors.ts';
import { kernelTest } from '../support/kernel.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'tripline');
const run = (args: string[]) =>
  promisify(execFile)(BIN, args, { timeout: 120_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

const out = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-cli-capture-`));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(out, { recursive: true, force: true });
});

test('capture flags: exactly one target, probe tokens, a duration with a unit', () => {
  assert.deepEqual(
    parseCaptureArgs(['--pid', '12,13', '--probes', 'profile,offcpu', '--duration=500ms', '--out', '/tmp/b']),
    {
      cgroup: undefined,
      pids: [12, 13],
      probes: ['profile', 'offcpu'],
      durationMs: 500,
      out: '/tmp/b',
      config: undefined,
      help: false,
    },
  );
  assert.equal(parseCaptureArgs(['--cgroup', '/a/b']).cgroup, '/a/b');
  const bad: [string[], RegExp][] = [
    [['--pid', '1', '--bogus'], /unknown option "--bogus"/],
    [[], /exactly one of --cgroup PATH or --pid PID/],
    [['--pid', '1', '--cgroup', '/x'], /exactly one of/],
    [['--pid', 'abc'], /"abc" is not a process id/],
    [['--pid', '1', '--probes', 'Prof;rm'], /is not a probe name/],
    [['--pid', '1', '--duration', '10'], /write a number with a unit/],
    [['--pid'], /--pid needs a value/],
  ];
  for (const [argv, re] of bad)
    assert.throws(
      () => parseCaptureArgs(argv),
      (e) => hasCode(e, 'CLI_ERR_USAGE') && re.test((e as Error).message),
      argv.join(' '),
    );
});

test('capture targets: a missing pid or cgroup is CAPTURE_ERR_TARGET; a cgroup path becomes its inode', () => {
  assert.throws(
    () => resolveTarget(undefined, [2 ** 31 - 2]),
    (e) => hasCode(e, 'CAPTURE_ERR_TARGET'),
  );
  assert.throws(
    () => resolveTarget('/tripline-no-such-cgroup', []),
    (e) => hasCode(e, 'CAPTURE_ERR_TARGET'),
  );
  const root = resolveTarget('/', []);
  assert.match(root.cgroupId ?? '', /^\d+$/);
  assert.deepEqual(resolveTarget(undefined, [process.pid]), { pids: [process.pid] });
});

test('tripline capture: usage errors exit 2 with the usage line', async () => {
  const r = await run(['capture', '--pid', '1', '--frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option "--frobnicate"/);
  assert.match(r.stderr, /^usage: tripline capture/m);
  const unknown = await run([
    'capture',
    '--pid',
    String(process.pid),
    '--probes',
    'profile,nosuch',
    '--duration',
    '100ms',
  ]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown probe nosuch; the catalog has: .*\bprofile\b/);
});

kernelTest('tripline capture --pid of a busy shell loop writes a valid bundle with its on-CPU stacks', async () => {
  const child = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
  children.push(child);
  const r = await run(['capture', '--pid', String(child.pid), '--probes', 'profile', '--duration', '1s', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const dir = r.stdout.trim();
  assert.ok(existsSync(dir), dir);
  const check = await validateBundle(dir);
  assert.deepEqual(check.problems, []);
  assert.equal(check.manifest!.probes[0].status, 'ok', JSON.stringify(check.manifest!.probes[0]));
  assert.ok(check.manifest!.probes[0].events > 10, 'a 1 s profile of a spinning process has samples');
  assert.match(
    readFileSync(join(dir, 'profile.folded'), 'utf8'),
    /^sh;/m,
    'stacks are rooted at the comm of the target',
  );
  assert.ok(existsSync(join(dir, 'flamegraph.html')) && existsSync(join(dir, 'profile.pb.gz')));
  assert.ok(existsSync(`${dir}.tar.gz`));
});

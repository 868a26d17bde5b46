/**
 * `tripline run` logs human-readable lines on a terminal (a real pseudo-terminal from util-linux `script`) and
 * JSON elsewhere; `--log-format` overrides; the network side it starts logs in the same format.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'tripline');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `tripline run --no-bpf ARGS` on a pseudo-terminal until both sides logged they run; returns what it printed. */
async function onTerminal(args: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-logfmt-'));
  const cmd = [bin, 'run', '--no-bpf', '--listen', '127.0.0.1:0', ...args].map((a) => `'${a}'`).join(' ');
  const script = spawn('script', ['-qfec', `exec ${cmd}`, '/dev/null'], {
    env: { ...process.env, TRIPLINE_DATA_DIR: dir, REDIS_URL: '', SLACK_BOT_TOKEN: '', TRIPLINE_LOG_FORMAT: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  script.stdout.on('data', (d) => (out += d));
  script.stderr.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => script.once('exit', () => r()));
  try {
    const until = Date.now() + 60_000;
    while (!/tripline running/.test(out) || !/network side running/.test(out)) {
      if (Date.now() > until || script.exitCode !== null) throw new Error(`tripline run did not start:\n${out}`);
      await sleep(200);
    }
    return out;
  } finally {
    // The engine is the pty's session leader under `script`: stop it (gracefully), then `script` ends.
    let engine = 0;
    try {
      engine = Number(readFileSync(`/proc/${script.pid}/task/${script.pid}/children`, 'utf8').trim().split(' ')[0]);
    } catch {
      /* already gone */
    }
    if (engine > 0) process.kill(engine, 'SIGTERM');
    await Promise.race([exited, sleep(20_000)]);
    if (script.exitCode === null) script.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

test('tripline run on a terminal: readable lines from both sides, no JSON', { timeout: 90_000 }, async () => {
  const out = await onTerminal([]);
  // `[06:01:35.343] INFO: network side running {"listen":…,"uid":999}` (colours between the parts).
  const plain = out.replace(/\x1b\[\d+m/g, '');
  assert.match(plain, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: network side running \{"listen":"127\.0\.0\.1:\d+","uid":\d+/m);
  assert.match(plain, /^\[[\d:.]+\] INFO: tripline running \{"listen":/m);
  assert.match(plain, /^\[[\d:.]+\] WARN: counter family unavailable \{"family":"runq","reason":"needs BPF/m);
  assert.doesNotMatch(plain, /"level":\d+/, 'no JSON line');
  assert.match(out, /\x1b\[3\dm/, 'levels coloured on a terminal');
});

test('tripline run --log-format json on a terminal: JSON from both sides', { timeout: 90_000 }, async () => {
  const out = await onTerminal(['--log-format', 'json']);
  const entries = out
    .split(/\r?\n/)
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; uid?: number });
  const net = entries.find((e) => e.msg === 'network side running');
  assert.ok(net && net.uid !== 0, out);
  assert.ok(
    entries.some((e) => e.msg === 'tripline running'),
    out,
  );
});

test(
  'tripline run --log-format pretty off a terminal (a pipe): readable lines from both sides',
  { timeout: 90_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tripline-logfmt-'));
    const child = spawn(bin, ['run', '--no-bpf', '--listen', '127.0.0.1:0', '--log-format', 'pretty'], {
      env: { ...process.env, TRIPLINE_DATA_DIR: dir, REDIS_URL: '', SLACK_BOT_TOKEN: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const until = Date.now() + 60_000;
      while (!/tripline running/.test(err) || !/network side running/.test(err)) {
        if (Date.now() > until || child.exitCode !== null) throw new Error(`tripline run did not start:\n${err}`);
        await sleep(200);
      }
      assert.match(err, /^\[[\d:.]+\] INFO: network side running \{"listen":/m);
      assert.doesNotMatch(err, /"level":\d+|\x1b\[/, 'no JSON, no colours off a terminal');
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('tripline run and tripline network: another log format is a usage error', () => {
  const bad = spawnSync(bin, ['run', '--no-bpf', '--log-format', 'xml'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /CLI_ERR_USAGE: unknown log format "xml".*--log-format json/);
  const badEnv = spawnSync(bin, ['run', '--no-bpf'], {
    encoding: 'utf8',
    env: { ...process.env, TRIPLINE_LOG_FORMAT: 'yaml' },
  });
  assert.equal(badEnv.status, 2);
  assert.match(badEnv.stderr, /unknown log format "yaml"/);
  const net = spawnSync(bin, ['network', '--log-format', 'xml', '--channel', '/nonexistent'], { encoding: 'utf8' });
  assert.equal(net.status, 2);
  assert.match(net.stderr, /unknown log format/);
});

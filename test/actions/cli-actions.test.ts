/** `tripline actions` end to end, as an operator runs it: a child process, a real rule file, real queues. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, type TestRedis } from '../support/redis.ts';
import { startReceiver, type Receiver } from './fixtures/receiver.ts';
import { uniqueName } from './fixtures/incident.ts';

const ROOT = join(import.meta.dirname, '..', '..');
let dir: string;
let cfgDir: string;
let redis: TestRedis;
let r: Receiver;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-`));
  cfgDir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-cfg-`));
  redis = await startRedis();
  r = await startReceiver();
  const rule = readFileSync(join(import.meta.dirname, 'fixtures', 'rules', 'fire-test.yaml'), 'utf8').replace(
    'WEBHOOK_URL',
    r.url,
  );
  writeFileSync(join(dir, 'fire-test.yaml'), rule);
});
after(async () => {
  await r.close();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(cfgDir, { recursive: true, force: true });
});

function tripline(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(ROOT, 'src', 'cli', 'main.ts'), 'actions', ...args], {
      env: { ...process.env, REDIS_URL: '', FIRE_TEST_SECRET: 'fire-secret', ...env },
    });
    let stdout = '',
      stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    p.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function logLines(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .filter((o) => o.action === 'log');
}

test("fire runs a test incident through the rule's actions (in-process queue): one log line, one signed webhook", async () => {
  const before = r.requests.length;
  // NODE_NAME names the host; a test incident without a pod is keyed per host like a real node-level trip.
  const res = await tripline(['fire', 'fire-test', '--rules', dir, '--label', 'container=web-1'], {
    NODE_NAME: 'fire-node',
  });
  assert.equal(res.code, 0, res.stdout + res.stderr);
  const lines = logLines(res.stderr);
  assert.equal(lines.length, 1);
  assert.equal(lines[0].test, true);
  assert.equal(lines[0].rule, 'fire-test');
  assert.equal(lines[0].cause, 'limit-bound');
  assert.match(String(lines[0].key), /^fire-test\{container="web-1",host="fire-node",test="\d+T\d+"\}$/);
  assert.equal(lines[0].host, 'fire-node');
  assert.equal(r.requests.length, before + 1);
  const got = r.requests.at(-1)!;
  assert.equal(
    got.headers['x-tripline-signature'],
    `sha256=${createHmac('sha256', 'fire-secret').update(got.body).digest('hex')}`,
  );
  const body = JSON.parse(got.body);
  assert.equal(body.test, true);
  assert.equal(body.incident.labels.container, 'web-1');
  assert.match(res.stdout, /log\s+log-firing-[0-9a-f]{32}\s+delivered/);
  assert.match(res.stdout, /webhook\s+webhook-firing-[0-9a-f]{32}\s+delivered/);
});

test('--dry-run sends nothing to the webhook; --label cause=... sets the diagnosis', async () => {
  const before = r.requests.length;
  const res = await tripline(['fire', 'fire-test', '--rules', dir, '--dry-run', '--label', 'cause=contention']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.equal(r.requests.length, before);
  assert.equal(logLines(res.stderr)[0].cause, 'contention');
  assert.equal(logLines(res.stderr)[0].dryRun, true);
  assert.match(res.stdout, /webhook\s+\S+\s+dry-run: would POST/);
});

test('on Redis: fire delivers through the durable queue; a failing receiver lands in `failed`, `retry` replays it', async () => {
  const env = { REDIS_URL: redis.url };
  const cfg = join(cfgDir, 'tripline.yaml');
  writeFileSync(
    cfg,
    `redis:\n  prefix: ${uniqueName()}\nactions:\n  attempts: 2\n  backoff: 50ms\nrules: [${JSON.stringify(dir)}]\n`,
  );
  // No engine on this Redis and no --work: the jobs wait, and fire says why.
  const n0 = r.requests.length;
  const waiting = await tripline(
    ['fire', 'fire-test', '--config', cfg, '--label', 'container=web-1', '--timeout', '1s'],
    env,
  );
  assert.equal(waiting.code, 1);
  assert.match(waiting.stdout, /webhook\s+\S+\s+waiting after 1 s: no engine took it/);
  assert.equal(r.requests.length, n0, 'nothing delivered');
  const ok = await tripline(['fire', 'fire-test', '--config', cfg, '--label', 'container=web-2', '--work'], env);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /→ redis queue/);
  // The workers of that run also delivered the job the first fire left waiting.
  assert.match(
    (await tripline(['list', '--config', cfg], env)).stdout,
    /actions-webhook\s+webhook\s+0\s+0\s+0\s+2\s+0/,
  );

  r.reply = () => ({ status: 500 });
  const bad = await tripline(['fire', 'fire-test', '--config', cfg, '--label', 'container=web-3', '--work'], env);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /webhook\s+\S+\s+failed: webhook http:\/\/127\.0\.0\.1:\d+\/hook: HTTP 500/);
  const failed = await tripline(['failed', '--config', cfg], env);
  const id = /^(webhook-firing-[0-9a-f]{32})\s+webhook\s+firing\s+fire-test \(test\)\s+2\s/m.exec(failed.stdout)?.[1];
  assert.ok(id, failed.stdout);

  r.reply = () => ({ status: 200 });
  const n = r.requests.length;
  const retried = await tripline(['retry', id, '--config', cfg], env);
  assert.equal(retried.code, 0, retried.stderr);
  // Nothing runs workers on this Redis: list shows the retried job waiting; a fire run with --work delivers it.
  assert.match(
    (await tripline(['list', '--config', cfg], env)).stdout,
    /actions-webhook\s+webhook\s+1\s+0\s+0\s+2\s+0/,
  );
  await tripline(['fire', 'fire-test', '--config', cfg, '--label', 'container=web-4', '--work'], env);
  assert.ok(
    r.requests.slice(n).some((x) => x.headers['x-tripline-idempotency-key'] === id),
    'the retried job was delivered',
  );
  assert.match((await tripline(['failed', '--config', cfg], env)).stdout, /no failed jobs/);
});

test('usage errors exit 2; an unknown rule names the known ones', async () => {
  assert.equal((await tripline(['nope'])).code, 2);
  assert.equal((await tripline(['retry'])).code, 2);
  const res = await tripline(['fire', 'nope', '--rules', dir]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /no rule named "nope".*fire-test/s);
});

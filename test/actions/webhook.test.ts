/** The webhook action against a local receiver: signature, idempotency key, classification, redaction. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { buildConfig } from '../../src/config.ts';
import { webhookAction } from '../../src/actions/webhook.ts';
import { RateLimitedError, RetryableError, UnrecoverableError } from '../../src/actions/errors.ts';
import { toJob } from '../../src/actions/job-id.ts';
import { MemoryStore } from '../../src/actions/store-memory.ts';
import type { ActionContext, ActionJob } from '../../src/actions/types.ts';
import type { WebhookActionSpec } from '../../src/actions/webhook.ts';
import { hasCode } from '../../src/errors.ts';
import { startReceiver, type Receiver } from './fixtures/receiver.ts';
import { makeIncident, jobInput, recordingLogger } from './fixtures/incident.ts';

const receivers: Receiver[] = [];
after(async () => {
  for (const r of receivers) await r.close();
});
const SECRET = 's3cret-for-test';
const config = buildConfig({}, {});

function ctx(env: NodeJS.ProcessEnv = {}): ActionContext {
  return {
    config,
    env,
    log: recordingLogger(),
    store: new MemoryStore(),
    attempt: 1,
    signal: new AbortController().signal,
    notify: async () => [],
    schedule: async () => 'none',
    now: Date.now,
  };
}
function job(spec: WebhookActionSpec): ActionJob<WebhookActionSpec> {
  return toJob(jobInput(makeIncident(), [spec]), Date.now()) as ActionJob<WebhookActionSpec>;
}
async function receiver(reply: Parameters<typeof startReceiver>[0] = () => ({ status: 200 })): Promise<Receiver> {
  const r = await startReceiver(reply);
  receivers.push(r);
  return r;
}

test('the receiver verifies the HMAC-SHA256 signature of the exact body, and gets the idempotency key', async () => {
  const r = await receiver();
  const spec: WebhookActionSpec = {
    type: 'webhook',
    url: r.url,
    secretEnv: 'HOOK_SECRET',
    timeoutMs: 2000,
    headers: { 'x-team': 'ops' },
  };
  const j = job(spec);
  const out = await webhookAction.execute(j, ctx({ HOOK_SECRET: SECRET }));
  assert.equal(out.status, 'delivered');
  const got = r.requests[0];
  const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(got.body).digest('hex')}`);
  const sig = Buffer.from(String(got.headers['x-tripline-signature']));
  assert.ok(sig.length === expected.length && timingSafeEqual(sig, expected), 'signature matches');
  assert.equal(got.headers['x-tripline-idempotency-key'], j.id);
  assert.equal(got.headers['x-team'], 'ops');
  assert.equal(got.headers['content-type'], 'application/json');
  const body = JSON.parse(got.body);
  assert.equal(body.incident.key, j.incident.key);
  assert.equal(body.event, 'firing');
  assert.equal(body.version, 1);
  // A body changed in transit no longer matches.
  const forged = `sha256=${createHmac('sha256', SECRET).update(got.body.replace('firing', 'resolved')).digest('hex')}`;
  assert.notEqual(forged, String(got.headers['x-tripline-signature']));
});

test('a missing secret env is unrecoverable (and refused by check at start)', async () => {
  const r = await receiver();
  const spec: WebhookActionSpec = { type: 'webhook', url: r.url, secretEnv: 'HOOK_SECRET', timeoutMs: 2000 };
  await assert.rejects(
    webhookAction.execute(job(spec), ctx({})),
    (e) => e instanceof UnrecoverableError && /HOOK_SECRET/.test(e.message),
  );
  assert.throws(
    () => webhookAction.check!(spec, config, {}),
    (e) => hasCode(e, 'ACTION_ERR_CONFIG'),
  );
  assert.equal(r.requests.length, 0);
});

test('status classes: 5xx and 408 retry, 429 parks for Retry-After, other 4xx fail, timeouts retry', async () => {
  const cases: Array<[number, Record<string, string>, (e: unknown) => boolean]> = [
    [503, {}, (e) => e instanceof RetryableError && e.reason === 'http_503'],
    [408, {}, (e) => e instanceof RetryableError],
    [429, { 'retry-after': '7' }, (e) => e instanceof RateLimitedError && e.retryAfterMs === 7000],
    [429, {}, (e) => e instanceof RetryableError && e.reason === 'http_429'],
    [400, {}, (e) => e instanceof UnrecoverableError && e.reason === 'http_400'],
    [401, {}, (e) => e instanceof UnrecoverableError],
    [302, { location: 'http://127.0.0.1:1/' }, (e) => e instanceof UnrecoverableError],
  ];
  for (const [status, headers, check] of cases) {
    const r = await receiver(() => ({ status, headers }));
    await assert.rejects(
      webhookAction.execute(job({ type: 'webhook', url: r.url, timeoutMs: 2000 }), ctx()),
      check,
      `status ${status}`,
    );
  }
  const slow = await receiver(() => ({ status: 200, delayMs: 5000 }));
  await assert.rejects(
    webhookAction.execute(job({ type: 'webhook', url: slow.url, timeoutMs: 200 }), ctx()),
    (e) => e instanceof RetryableError && e.reason === 'timeout',
  );
  await assert.rejects(
    webhookAction.execute(job({ type: 'webhook', url: 'http://127.0.0.1:1/x', timeoutMs: 2000 }), ctx()),
    (e) => e instanceof RetryableError && e.reason === 'network',
  );
});

test('credentials, query and secret-looking path segments of the URL never appear in errors; credentials become Basic auth', async () => {
  const r = await receiver(() => ({ status: 500 }));
  const u = new URL(r.url);
  const url = `http://bob:hunter2pw@${u.host}/hooks/T0A1B2C3D4E5F6G7H8/x?token=topsecret123`;
  const err = await webhookAction.execute(job({ type: 'webhook', url, timeoutMs: 2000 }), ctx()).catch((e: Error) => e);
  assert.ok(err instanceof RetryableError);
  const text = `${err.message} ${err.hint} ${err.stack}`;
  for (const secret of ['hunter2pw', 'bob', 'topsecret123', 'T0A1B2C3D4E5F6G7H8'])
    assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  assert.match(err.message, /\/hooks\/…\/x\?…/);
  assert.equal(r.requests[0].headers.authorization, `Basic ${Buffer.from('bob:hunter2pw').toString('base64')}`);
  const down = await webhookAction
    .execute(job({ type: 'webhook', url: 'http://alice:pw123456@127.0.0.1:1/?k=zzz', timeoutMs: 2000 }), ctx())
    .catch((e: Error) => e);
  assert.ok(down instanceof RetryableError);
  assert.ok(!down.message.includes('pw123456') && !down.message.includes('zzz'), down.message);
});

test('dry run sends nothing', async () => {
  const r = await receiver();
  const j = { ...job({ type: 'webhook', url: r.url, timeoutMs: 2000 }), dryRun: true };
  assert.equal((await webhookAction.execute(j, ctx())).status, 'dry-run');
  assert.equal(r.requests.length, 0);
});

test('credentials in headers come from the environment (headers_from_env), never from rule text, and only over https or loopback', async () => {
  const { webhookSpec } = await import('../../src/actions/webhook.ts');
  const bad = webhookSpec.safeParse({
    type: 'webhook',
    url: 'https://x.example/h',
    headers: { Authorization: 'Bearer abc' },
  });
  assert.equal(bad.success, false);
  assert.match(JSON.stringify(bad.error?.issues), /headers_from_env/);
  assert.equal(
    webhookSpec.safeParse({ type: 'webhook', url: 'https://x.example/h', headers: { 'X-Api-Key': 'k' } }).success,
    false,
  );
  const ok = webhookSpec.parse({
    type: 'webhook',
    url: 'http://127.0.0.1:1/h',
    headers_from_env: { Authorization: 'HOOK_AUTH' },
  });
  assert.deepEqual(ok.headersFromEnv, { Authorization: 'HOOK_AUTH' });
  const r = await receiver();
  const out = await webhookAction.execute(
    job({ type: 'webhook', url: r.url, timeoutMs: 2000, headersFromEnv: { Authorization: 'HOOK_AUTH' } }),
    ctx({ HOOK_AUTH: 'Bearer from-env' }),
  );
  assert.equal(out.status, 'delivered');
  assert.equal(r.requests[0].headers.authorization, 'Bearer from-env');
  assert.throws(
    () =>
      webhookAction.check!(
        {
          type: 'webhook',
          url: 'http://hooks.example/h',
          timeoutMs: 1000,
          headersFromEnv: { Authorization: 'HOOK_AUTH' },
        },
        {} as never,
        { HOOK_AUTH: 'x' },
      ),
    /clear text/,
  );
});

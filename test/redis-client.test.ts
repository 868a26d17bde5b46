import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis } from './support/redis.ts';
import { openRedis, REDIS_CLIENT_SETTINGS } from '../src/redis-client.ts';

test('settings per use: workers never give up a command, everything else fails fast', () => {
  assert.equal(REDIS_CLIENT_SETTINGS.blocking.maxRetriesPerRequest, null);
  assert.equal(REDIS_CLIENT_SETTINGS.commands.maxRetriesPerRequest, 1);
  const c = openRedis('redis://user:pw@127.0.0.1:1/3', 'commands');
  try {
    assert.equal(c.options.maxRetriesPerRequest, 1);
    assert.equal(c.options.connectTimeout, 2000);
    assert.equal(c.options.db, 3, 'the URL still decides host, port, password and db');
    assert.equal(c.options.password, 'pw');
  } finally {
    c.disconnect();
  }
});

test('a commands client fails a command while Redis is down and reports the error to onError', async () => {
  const errors: Error[] = [];
  // Port 1 on loopback: nothing listens, the connect is refused at once.
  const c = openRedis('redis://127.0.0.1:1', 'commands', (e) => errors.push(e));
  try {
    await assert.rejects(c.ping(), /max retries|ECONNREFUSED|Reached the max retries/i);
    assert.ok(errors.length > 0);
  } finally {
    c.disconnect();
  }
});

test('both uses talk to a real Redis', async () => {
  const redis = await startRedis();
  const a = openRedis(redis.url, 'commands');
  const b = openRedis(redis.url, 'blocking');
  try {
    assert.equal(await a.ping(), 'PONG');
    const waiting = b.blpop(`tripline-test-${process.pid}-list`, 5);
    await a.rpush(`tripline-test-${process.pid}-list`, 'x');
    assert.deepEqual(await waiting, [`tripline-test-${process.pid}-list`, 'x']);
  } finally {
    a.disconnect();
    b.disconnect();
    await redis.stop();
  }
});

test('a Redis password from a file (never in the URL); a CA file for TLS; unreadable files are named', async (t) => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const { securityOptions } = await import('../src/redis-client.ts');
  const dir = mkdtempSync(join(tmpdir(), 'tripline-redis-pw-'));
  const redis = await startRedis();
  t.after(async () => {
    const c = openRedis(redis.url, 'commands', undefined, { password_file: join(dir, 'pw') });
    await c.config('SET', 'requirepass', '').catch(() => undefined);
    c.disconnect();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const admin = openRedis(redis.url, 'commands');
  await admin.config('SET', 'requirepass', 'from-a-file-0123456789');
  admin.disconnect();
  writeFileSync(join(dir, 'pw'), 'from-a-file-0123456789\n', { mode: 0o600 });
  writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const ok = openRedis(redis.url, 'commands', undefined, { password_file: join(dir, 'pw') });
  assert.equal(await ok.ping(), 'PONG');
  ok.disconnect();
  const none = openRedis(redis.url, 'commands');
  await assert.rejects(none.ping(), /NOAUTH|Authentication required/);
  none.disconnect();
  assert.match(
    String((securityOptions({ tls_ca_file: join(dir, 'ca.pem') }).tls as { ca: Buffer }).ca),
    /BEGIN CERTIFICATE/,
  );
  assert.throws(() => securityOptions({ password_file: join(dir, 'missing') }), /redis\.password_file .*missing/);
});

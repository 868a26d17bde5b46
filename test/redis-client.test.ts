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

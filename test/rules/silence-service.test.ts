// Run-time silences survive a restart with the rule state (file and Redis back ends), and saved silences are
// validated again when restored: one planted in Redis with a bad regex, a foreign id or a far end is dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { Evaluator } from '../../src/rules/evaluate/evaluate.ts';
import { localSilences } from '../../src/rules/silence-service.ts';
import { RedisStateStore } from '../../src/rules/state/redis.ts';
import { rule, ruleSet } from '../support/rule-fixtures.ts';
import { startRedis } from '../support/redis.ts';

const spec = (over: Record<string, unknown> = {}) => ({
  matchers: { rule: 'cpu-throttling', cgroup: { regex: '/kubepods/.*' }, qos: { not_in: ['guaranteed'] } },
  starts_at: new Date(Date.now() - 1000).toISOString(),
  ends_at: new Date(Date.now() + 3600_000).toISOString(),
  author: 'alice',
  comment: 'maintenance',
  ...over,
});

test('a run-time silence is saved with the state and comes back after a restart', async () => {
  const a = new Evaluator(ruleSet([rule()]));
  const added = await localSilences(() => a.suppressor).add(spec());
  const saved = JSON.parse(JSON.stringify(a.snapshot(Date.now()))); // as the file back end writes it
  assert.equal(saved.silences.length, 1);
  const b = new Evaluator(ruleSet([rule()]));
  b.restore(saved, Date.now());
  assert.deepEqual(b.suppressor.list(), [added]);
  assert.equal(b.droppedSilences, 0);
});

test('saved silences are validated again: tampered ones are dropped, expired ones forgotten', () => {
  const b = new Evaluator(ruleSet([rule()]));
  b.restore(
    {
      version: 1,
      savedAt: Date.now(),
      rules: {},
      silences: [
        { id: 'api-bad-regex', spec: spec({ matchers: { cgroup: { regex: '(a)\\1' } } }) },
        { id: 'api-far', spec: spec({ ends_at: new Date(Date.now() + 400 * 86400_000).toISOString() }) },
        { id: 'api-extra', spec: { ...spec(), run: '/bin/sh' } },
        { id: 'rule-file-id', spec: spec() },
        { id: 'api-expired', spec: spec({ ends_at: new Date(Date.now() - 1).toISOString() }) },
        { id: 'api-ok', spec: spec() },
      ],
    },
    Date.now(),
  );
  assert.deepEqual(
    b.suppressor.list().map((s) => s.id),
    ['api-ok'],
  );
  assert.equal(b.droppedSilences, 4);
});

test('redis back end: silences round-trip; a non-array silences field is reported, not fatal', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const c = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  t.after(() => c.disconnect());
  const a = new Evaluator(ruleSet([rule()]));
  await localSilences(() => a.suppressor).add(spec());
  const errors: string[] = [];
  const store = new RedisStateStore(c, `t${process.pid}`, (e) => errors.push(e.message), 'h1');
  await store.save(a.snapshot(Date.now()));
  const loaded = await new RedisStateStore(c, `t${process.pid}`, undefined, 'h1').load();
  const b = new Evaluator(ruleSet([rule()]));
  b.restore(loaded!, Date.now());
  assert.equal(b.suppressor.list().length, 1);
  await c.hset(store.key, '\u0000silences', '{"not":"an array"}');
  const again = await new RedisStateStore(c, `t${process.pid}`, (e) => errors.push(e.message), 'h1').load();
  assert.equal(again?.silences, undefined);
  assert.match(errors.join('\n'), /unreadable entries/);
});

test('redis back end: a host key expires unless refreshed; a planted incident in a series is refused', async (t) => {
  const { STATE_TTL_MS } = await import('../../src/rules/state/redis.ts');
  const redis = await startRedis();
  t.after(() => redis.stop());
  const c = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  t.after(() => c.disconnect());
  const a = new Evaluator(ruleSet([rule()]));
  await localSilences(() => a.suppressor).add(spec());
  const errors: string[] = [];
  const store = new RedisStateStore(c, `x${process.pid}`, (e) => errors.push(e.message), 'h2');
  await store.save(a.snapshot(Date.now()));
  const ttl = await c.pttl(store.key);
  assert.ok(ttl > STATE_TTL_MS - 60_000 && ttl <= STATE_TTL_MS, `ttl ${ttl}`);
  const name = rule().name;
  await c.hset(store.key, `${name}\u0000rule`, JSON.stringify({ v: 1, identity: 'x', trips: [] }));
  await c.hset(
    store.key,
    `${name}\u0000{pod="evil"}`,
    JSON.stringify({
      state: { phase: 'firing' },
      incident: { id: 'x', rule: name, status: 'firing', key: 'k', $where: 1 },
    }),
  );
  const loaded = await new RedisStateStore(c, `x${process.pid}`, (e) => errors.push(e.message), 'h2').load();
  assert.equal(loaded?.rules[name]?.series['{pod="evil"}'], undefined, 'the planted incident is not restored');
  assert.match(errors.join('\n'), /unreadable entries/);
  await store.close();
});

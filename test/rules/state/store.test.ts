import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Evaluator } from '../../../src/rules/evaluate/evaluate.ts';
import { FileStateStore } from '../../../src/rules/state/file.ts';
import { RedisStateStore } from '../../../src/rules/state/redis.ts';
import type { StateStore } from '../../../src/rules/state/store.ts';
import { hasCode } from '../../../src/errors.ts';
import { startRedis } from '../../support/redis.ts';
import { openRedis } from '../../../src/redis-client.ts';
import { openStateStore, STATE_FILE } from '../../../src/rules/state/open.ts';
import { cond, counter, rule, ruleSet, tick } from '../../support/rule-fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-state-`));
after(() => rmSync(dir, { recursive: true, force: true }));
const T0 = Date.parse('2026-11-25T10:00:00Z');
const SIG = 'runq_delay_over_threshold';
const A = { cgroup: '/a', cgroup_id: '7' },
  B = { cgroup: '/b', cgroup_id: '8' };
const rules = () =>
  ruleSet([
    rule({ name: 'hot', forMs: 5000, when: cond({ signal: SIG, stat: 'rate', windowMs: 2000, threshold: 20 }) }),
  ]);
const feed = (ev: Evaluator, s: number, a: number, b: number) =>
  ev.tick(tick(T0 + s * 1000, [counter(SIG, A, a), counter(SIG, B, b)]));

/** Runs the restart scenario against a store: A firing and B pending survive a restart. */
async function restartScenario(open: () => StateStore): Promise<void> {
  const ev1 = new Evaluator(rules(), { host: 'h' });
  for (let s = 0; s <= 5; s++) feed(ev1, s, 30, 0); // A: pending at 0 s, fires at 5 s
  const fired = ev1.firing();
  assert.equal(fired.length, 1);
  for (let s = 6; s <= 7; s++) feed(ev1, s, 30, 30); // B: rate over 2 s is 15/s at 6 s, 30/s at 7 s: pending since 7 s
  const store1 = open();
  await store1.save(ev1.snapshot());
  await store1.close();

  const store2 = open();
  const saved = await store2.load();
  assert.ok(saved);
  const ev2 = new Evaluator(rules(), { host: 'h' });
  ev2.restore(saved, T0 + 9000);
  assert.deepEqual(
    ev2.firing().map((i) => i.id),
    [fired[0].id],
  );
  const out: string[] = [];
  for (let s = 9; s <= 12; s++)
    for (const i of feed(ev2, s, 30, 30)) out.push(`${s}:${i.labels.cgroup}:${i.status}:${i.startsAt}`);
  // No re-alert of A; B keeps its pending start (7 s) and fires at 12 s (7 + 5), not 14 s (9 + 5).
  assert.deepEqual(out, [`12:/b:firing:${new Date(T0 + 7000).toISOString()}`]);
  const res: string[] = [];
  for (let s = 13; s <= 15; s++)
    for (const i of feed(ev2, s, 0, 30)) res.push(`${i.labels.cgroup}:${i.status}:${i.id}`);
  assert.deepEqual(res, [`/a:resolved:${fired[0].id}`], 'the resolve after the restart carries the original id');
  await store2.save(ev2.snapshot());
  await store2.close();
}

test('file store: restart without re-alert, pending keeps its start', async () => {
  await restartScenario(() => new FileStateStore(join(dir, 'a', 'state.json')));
  assert.deepEqual(readdirSync(join(dir, 'a')), ['state.json'], 'no temp file left behind');
  assert.equal(JSON.parse(readFileSync(join(dir, 'a', 'state.json'), 'utf8')).version, 1);
});

test('file store: a corrupt or foreign file is reported and read as fresh state', async () => {
  const errors: string[] = [];
  const p = join(dir, 'bad.json');
  const store = new FileStateStore(p, (e) => errors.push((e as { code?: string }).code ?? ''));
  assert.equal(await store.load(), undefined, 'missing file: no state, no error');
  writeFileSync(p, '{"version":1,"savedAt":1,"rules":{"x":');
  assert.equal(await store.load(), undefined);
  writeFileSync(p, JSON.stringify({ version: 99, savedAt: 1, rules: {} }));
  assert.equal(await store.load(), undefined);
  writeFileSync(
    p,
    JSON.stringify({
      version: 1,
      savedAt: 1,
      rules: { x: { identity: '', trips: [], series: { k: { state: { phase: 'exploded' } } } } },
    }),
  );
  assert.equal(await store.load(), undefined);
  assert.deepEqual(errors, ['RULE_ERR_STATE', 'RULE_ERR_STATE', 'RULE_ERR_STATE']);
  // A file where the folder should be: the save fails with a coded error (and nothing is half-written).
  await assert.rejects(new FileStateStore(join(p, 'state.json')).save({ version: 1, savedAt: 0, rules: {} }), (e) =>
    hasCode(e, 'RULE_ERR_STATE'),
  );
});

test('redis store: restart of tripline and of redis-server without re-alert; writes only changed series', async (t) => {
  const redis = await startRedis();
  const clients: Redis[] = [];
  t.after(async () => {
    for (const c of clients) c.disconnect();
    await redis.stop();
  });
  const prefix = `tripline-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const open = (): StateStore => {
    const c = openRedis(redis.url, 'commands'); // as the engine opens it
    clients.push(c);
    return new RedisStateStore(c, prefix, undefined, 'h');
  };
  await restartScenario(open);

  // The state survives a redis-server restart (AOF).
  const probe = new Redis(redis.url);
  clients.push(probe);
  const fields = await probe.hkeys(`${prefix}:rules:state:h`);
  assert.deepEqual(await probe.hkeys(`${prefix}:rules:state:other-host`), [], 'state is per host');
  assert.ok(
    fields.some((f) => f.startsWith('hot\u0000')),
    fields.join(','),
  );
  await redis.restart();
  const again = await open().load();
  assert.ok(again?.rules.hot, 'state is back after redis restarted');

  // Only changed series are written: a second save of the same state issues no HSET.
  const store = open();
  const ev = new Evaluator(rules());
  feed(ev, 0, 30, 0);
  await store.save(ev.snapshot());
  // Counted with the server's own command statistics (MONITOR races with the client's mode switch).
  const calls = async (cmd: string): Promise<number> => {
    const m = new RegExp(`^cmdstat_${cmd}:calls=(\\d+)`, 'm').exec(await probe.info('commandstats'));
    return m ? Number(m[1]) : 0;
  };
  await probe.config('RESETSTAT');
  await store.save(ev.snapshot());
  assert.equal(await calls('hset'), 0, 'an unchanged state issues no HSET');
  feed(ev, 1, 30, 60); // B: 60 over the 2 s window = 30/s: pending
  await store.save(ev.snapshot());
  assert.deepEqual([await calls('hset'), await calls('hdel')], [1, 0], 'one HSET, for the tick that changed B');
});

test('the config picks the back end: Redis when redis.url is set and a client is given, else the file in data_dir', () => {
  const file = openStateStore({ data_dir: dir, redis: { prefix: 'tripline' } }, undefined);
  assert.ok(file instanceof FileStateStore);
  assert.equal(file.path, join(dir, STATE_FILE));
  const client = new Redis({ lazyConnect: true });
  const redis = openStateStore(
    { data_dir: dir, redis: { url: 'redis://127.0.0.1:1', prefix: 'pfx' } },
    client,
    undefined,
    'node-7',
  );
  assert.ok(redis instanceof RedisStateStore);
  assert.equal(redis.key, 'pfx:rules:state:node-7');
  client.disconnect();
});

test('redis store: unreadable entries are reported and skipped', async (t) => {
  const redis = await startRedis();
  const c = new Redis(redis.url);
  t.after(async () => {
    c.disconnect();
    await redis.stop();
  });
  await c.hset('p:rules:state:h', 'hot\u0000k', 'not json', 'garbage', '1');
  const errors: Error[] = [];
  const got = await new RedisStateStore(c, 'p', (e) => errors.push(e), 'h').load();
  assert.ok(got);
  assert.equal(errors.length, 1);
  assert.ok(hasCode(errors[0], 'RULE_ERR_STATE'));
});

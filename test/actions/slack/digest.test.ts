/**
 * The digest of a scripted day: incidents per rule and per workload, top offenders, actions and verification
 * results, suppressed trips and why, partial captures and why — numbers checked against the day's script; then
 * the message posted through the Web API stand-in, once per period, on a valid node-cron schedule.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import cron from 'node-cron';
import { IncidentLog } from '../../../src/incident-log.ts';
import { buildDigest, renderDigest } from '../../../src/actions/slack/digest/digest.ts';
import { DigestLedger } from '../../../src/actions/slack/digest/ledger.ts';
import { cronOf, postDigest, type DigestDeps } from '../../../src/actions/slack/digest/schedule.ts';
import { mergeDigests, readDigestDoc, MAX_ROWS } from '../../../src/actions/slack/digest/fleet.ts';
import { RedisStore } from '../../../src/actions/store-redis.ts';
import { openRedis } from '../../../src/redis-client.ts';
import type { Config } from '../../../src/config.ts';
import { skipOrFail } from '../../support/kernel.ts';
import { startRedis, type TestRedis } from '../../support/redis.ts';
import { DigestSchema } from '../../../src/actions/slack/settings/interactive.ts';
import { SlackClient } from '../../../src/actions/slack/client.ts';
import { MemoryStore } from '../../../src/actions/store-memory.ts';
import type { JobSettled } from '../../../src/actions/queue.ts';
import type { ActionEvent, EventDetail } from '../../../src/actions/types.ts';
import type { Incident } from '../../../src/incident.ts';
import type { SuppressedTrip } from '../../../src/rules/evaluate/suppress.ts';
import { FakeSlack } from '../../support/fake-slack.ts';
import { bundle, config, incident } from './helpers.ts';

const slack = new FakeSlack();
let redis: TestRedis | undefined;
before(async () => {
  await slack.start();
  redis = await startRedis().catch(() => undefined);
});
after(async () => {
  await slack.stop();
  await redis?.stop();
});

const DAY = Date.parse('2026-11-25T00:00:00Z');
const at = (h: number, m = 0): number => DAY + h * 3600_000 + m * 60_000;

/** The scripted day: what fired, what the actions did, what was suppressed. */
function scriptedDay() {
  const log = new IncidentLog();
  const ledger = new DigestLedger();
  const fired: Incident[] = [];
  const fire = (i: Incident): Incident => {
    log.upsert(i);
    fired.push(i);
    return i;
  };
  // The evening before: outside the window.
  fire(incident('web-1', at(-2)));
  const a = fire(incident('web-1', at(1), { id: 'a' }));
  const b = fire(incident('web-1', at(9), { id: 'b' }));
  const c = fire(incident('web-2', at(10), { id: 'c', value: 0.97 }));
  const d = fire(
    incident('x', at(14), {
      id: 'd',
      rule: 'runq-latency',
      labels: {},
      target: {},
      host: 'node-a',
      value: 0.02,
      unit: 'seconds',
    }),
  );
  // a's capture was partial: the engine stopped during it.
  log.captured('a', { ...bundle(), partial: true }, 'engine stopping: capture cut short after 4 s');
  log.captured('b', bundle());

  const settle = (
    i: Incident,
    type: string,
    event: ActionEvent,
    outcome: 'delivered' | 'skipped' | 'failed',
    when: number,
    detail?: EventDetail,
  ): void => {
    const job = {
      id: `${type}-${event}-${i.id}`,
      event,
      incident: i,
      spec: { type } as never,
      index: 0,
      actions: [],
      enqueuedAt: when,
      ...(detail ? { detail } : {}),
    };
    const s: JobSettled =
      outcome === 'failed'
        ? { id: job.id, job, state: 'failed', reason: 'HTTP 500' }
        : { id: job.id, job, state: 'completed', summary: 'x', status: outcome };
    ledger.add(s, when);
  };
  for (const i of [a, b, c, d]) settle(i, 'slack', 'firing', 'delivered', Date.parse(i.firedAt) + 1000);
  settle(a, 'scale', 'firing', 'delivered', at(1, 1));
  // The scale's news reached two siblings (Slack and a webhook): counted once.
  settle(a, 'slack', 'scaled', 'delivered', at(1, 2), { kind: 'scaled', text: 'Scaled' });
  settle(a, 'webhook', 'scaled', 'delivered', at(1, 2), { kind: 'scaled', text: 'Scaled' });
  settle(a, 'slack', 'verified', 'delivered', at(1, 5), { kind: 'recovered', text: 'recovered' });
  settle(b, 'scale', 'firing', 'skipped', at(9, 1));
  settle(b, 'slack', 'scaled', 'delivered', at(9, 2), { kind: 'scale-skipped', text: 'cooldown' });
  settle(c, 'scale', 'firing', 'delivered', at(10, 1));
  settle(c, 'slack', 'scaled', 'delivered', at(10, 2), { kind: 'scaled', text: 'Scaled' });
  settle(c, 'slack', 'verified', 'delivered', at(10, 5), { kind: 'not-recovered', text: 'still' });
  settle(d, 'webhook', 'firing', 'failed', at(14, 1));
  // Next day: outside the window.
  settle(d, 'webhook', 'resolved', 'delivered', at(25));

  const trip = (reason: SuppressedTrip['reason'], detail: string, since: number): SuppressedTrip => ({
    incident: a,
    reason,
    detail,
    since,
  });
  const suppressed = [
    trip('silenced', 'api-1 (silenced from Slack by alice)', at(3)),
    trip('silenced', 'api-1 (silenced from Slack by alice)', at(4)),
    trip('cooldown', 'cooldown 10m', at(12)),
    trip('muted', 'mute 0 2 * * *', at(-3)),
  ];
  return { log, ledger, suppressed };
}

test("the digest's numbers match the scripted day", () => {
  const { log, ledger, suppressed } = scriptedDay();
  const d = buildDigest('node-a', log.list(), ledger.entries(), suppressed, DAY, DAY + 86_400_000);
  assert.equal(d.incidents, 4, 'the evening before is not counted');
  assert.deepEqual(d.perRule, [
    ['cpu-throttling', 3],
    ['runq-latency', 1],
  ]);
  assert.deepEqual(d.perWorkload, [
    ['Deployment shop/web', 3],
    ['host node-a', 1],
  ]);
  assert.equal(d.offenders[0].count, 2, 'web-1 twice');
  assert.match(d.offenders[0].target, /web-1/);
  assert.equal(d.offenders[1].worst, 0.97);
  assert.deepEqual(d.actions, [
    { type: 'scale', delivered: 2, skipped: 1, failed: 0 },
    { type: 'slack', delivered: 9, skipped: 0, failed: 0 },
    { type: 'webhook', delivered: 1, skipped: 0, failed: 1 },
  ]);
  assert.equal(d.scaled, 2);
  assert.equal(d.notScaled, 1);
  assert.deepEqual(d.verification, { recovered: 1, notRecovered: 1, overdue: 0 });
  assert.deepEqual(d.suppressed, [
    { reason: 'silenced', count: 2, why: ['api-1 (silenced from Slack by alice) (2)'] },
    { reason: 'cooldown', count: 1, why: ['cooldown 10m (1)'] },
  ]);
  assert.deepEqual(d.partial, [
    { incident: 'a', rule: 'cpu-throttling', host: 'node-a', why: 'engine stopping: capture cut short after 4 s' },
  ]);
  const m = renderDigest(d, 'day');
  assert.match(m.text, /daily digest for node-a: 4 incidents, 2 scaled, 3 suppressed, 1 partial captures/);
  const json = JSON.stringify(m.blocks);
  assert.match(json, /1 recovered, 1 not recovered/);
  assert.match(json, /engine stopping/);
  assert.ok(m.blocks.length <= 50);
});

test('posted to its channel once per period, on a valid node-cron schedule', async () => {
  const { log, ledger, suppressed } = scriptedDay();
  const cfg = config({ api_url: slack.url });
  const web = new SlackClient({ token: slack.token, apiUrl: slack.url });
  const store = new MemoryStore();
  const daily = DigestSchema.parse({ channel: 'CDIGEST', at: '08:30' });
  const weekly = DigestSchema.parse({ channel: 'CDIGEST', every: 'week', day: 'fri', at: '17:00' });
  assert.equal(cronOf(daily), '30 8 * * *');
  assert.equal(cronOf(weekly), '0 17 * * 5');
  assert.ok(cron.validate(cronOf(daily)) && cron.validate(cronOf(weekly)));
  const deps = {
    config: cfg,
    log: { debug() {}, info() {}, warn() {}, error() {} },
    store,
    post: (ch: string, msg: Parameters<SlackClient['post']>[1]) => web.post(ch, msg),
    build: async (from: number, to: number) =>
      buildDigest('node-a', log.list(), ledger.entries(), suppressed, from, to),
    now: () => DAY + 86_400_000,
    gatherMs: 0,
  };
  assert.equal(await postDigest(daily, deps), true);
  assert.equal(await postDigest(daily, deps), false, 'a second tick in the same minute posts nothing');
  const posted = slack.parents().filter((m) => m.channel === 'CDIGEST');
  assert.equal(posted.length, 1);
  assert.match(posted[0].text, /4 incidents/);
  assert.throws(() => DigestSchema.parse({ channel: 'C1', at: '25:00' }), /a time like 09:00/);
  assert.throws(() => DigestSchema.parse({ channel: 'C1', timezone: 'Mars/Olympus' }), /IANA time zone/);
});

test('a fleet posts one digest per channel and period: every host part merged, counts added', async (t) => {
  if (!redis) {
    skipOrFail(t, 'redis-server is not available');
    return;
  }
  const { log, ledger, suppressed } = scriptedDay();
  const base = config({ api_url: slack.url });
  const web = new SlackClient({ token: slack.token, apiUrl: slack.url });
  const prefix = `tripline-test-${process.pid}-digest-${Math.random().toString(36).slice(2)}`;
  const conns = ['node-a', 'node-b', 'node-c'].map(() => openRedis(redis!.url, 'commands'));
  const warned: string[] = [];
  try {
    const channel = `CFLEET${Date.now() % 100_000}`;
    const daily = DigestSchema.parse({ channel, at: '08:30' });
    const engine = (host: string, k: number): DigestDeps => ({
      config: { ...base, host } as Readonly<Config>,
      log: { debug() {}, info() {}, warn: (_o: unknown, m: string) => warned.push(m), error() {} },
      store: new RedisStore(conns[k], prefix),
      post: (ch, msg) => web.post(ch, msg),
      // Each host saw the scripted day (its incidents named as its own).
      build: async (from, to) => buildDigest(host, log.list(), ledger.entries(), suppressed, from, to),
      now: () => DAY + 86_400_000,
      gatherMs: 300,
    });
    const posted = await Promise.all(['node-a', 'node-b', 'node-c'].map((h, k) => postDigest(daily, engine(h, k))));
    assert.equal(posted.filter(Boolean).length, 1, 'one engine posts');
    const msgs = slack.parents().filter((m) => m.channel === channel);
    assert.equal(msgs.length, 1, 'one message in the channel');
    assert.match(msgs[0].text, /daily digest for 3 hosts: 12 incidents, 6 scaled, 9 suppressed, 3 partial captures/);
    const json = JSON.stringify(msgs[0].blocks);
    assert.match(json, /node-a, node-b, node-c/);
    assert.match(json, /3 recovered, 3 not recovered/);
    assert.match(json, /webhook: 3 done, 0 skipped, 3 failed/);
    // A restart within the minute gives nothing twice.
    assert.equal(await postDigest(daily, engine('node-b', 1)), false);
    assert.equal(slack.parents().filter((m) => m.channel === channel).length, 1);

    // A damaged document in Redis: said, replaced by the part at hand, still one message.
    const weekly = DigestSchema.parse({ channel, every: 'week', day: 'mon', at: '08:30' });
    const key = `slack:digest:${channel}:week:${Math.floor((DAY + 86_400_000) / 60_000)}`;
    await new RedisStore(conns[0], prefix).set(key, JSON.stringify({ hosts: ['x'], incidents: -1 }));
    assert.ok((await readDigestDoc(new RedisStore(conns[0], prefix), key)) instanceof Error);
    assert.equal(await postDigest(weekly, engine('node-a', 0)), true);
    assert.ok(
      warned.some((w) => /damaged/.test(w)),
      warned.join('; '),
    );
    const weeklyMsg = slack.parents().filter((m) => m.channel === channel && /weekly/.test(m.text));
    assert.equal(weeklyMsg.length, 1);
    assert.match(weeklyMsg[0].text, /weekly digest for node-a: 5 incidents/);
  } finally {
    for (const c of conns) c.disconnect();
  }
});

test('merging digests adds counts and keeps every list bounded', () => {
  const { log, ledger, suppressed } = scriptedDay();
  const one = buildDigest('node-a', log.list(), ledger.entries(), suppressed, DAY, DAY + 86_400_000);
  let all = one;
  for (let k = 0; k < 600; k++)
    all = mergeDigests(all, {
      ...one,
      hosts: [`node-${k}`],
      perWorkload: [[`Deployment ns${k}/web`, 1]],
      offenders: [{ target: `ns${k}/web-1`, count: 1, worst: k, unit: 'ratio' }],
      partial: [{ incident: `p${k}`, rule: 'r', why: 'cut short', host: `node-${k}` }],
    });
  assert.equal(all.hosts.length, 601);
  assert.equal(all.incidents, 4 * 601);
  assert.equal(all.perWorkload.length, MAX_ROWS.perWorkload);
  assert.equal(all.perWorkload[0][0], 'Deployment shop/web', 'the biggest stays first');
  assert.equal(all.offenders.length, MAX_ROWS.offenders);
  assert.equal(all.partial.length, MAX_ROWS.partial);
  assert.equal(all.suppressed.find((s) => s.reason === 'silenced')?.count, 2 * 601);
  const m = renderDigest(all, 'week');
  assert.match(m.text, /weekly digest for 601 hosts/);
  assert.ok(JSON.stringify(m).length < 40_000);
});

/**
 * Slack buttons end to end: the Slack action posts the incident message (Web API stand-in), the real
 * `@slack/socket-mode` client connects to the Socket Mode stand-in, a click arrives as an `interactive` envelope,
 * is acked, checked against the allowlist and acted on through the real silence service; the thread and the
 * message in place show it. Also: a click delivered twice acts once, a drop and reconnect loses no click, and two
 * engines on one Redis handle a click once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSlackAction } from '../../../src/actions/slack/index.ts';
import { startInteractivity, type Interactivity } from '../../../src/actions/slack/interactive/service.ts';
import type { ClickResult } from '../../../src/actions/slack/interactive/clicks.ts';
import type { CaptureRequestMsg } from '../../../src/capture/request-schema.ts';
import { localSilences } from '../../../src/rules/silence-service.ts';
import { SilenceSync } from '../../../src/actions/slack/interactive/silence-sync.ts';
import { Mailbox } from '../../../src/actions/slack/interactive/mailbox.ts';
import { Suppressor } from '../../../src/rules/evaluate/suppress.ts';
import { MemoryStore } from '../../../src/actions/store-memory.ts';
import { RedisStore } from '../../../src/actions/store-redis.ts';
import { openRedis } from '../../../src/redis-client.ts';
import type { ActionStore } from '../../../src/actions/types.ts';
import type { Incident } from '../../../src/incident.ts';
import { FakeSlack, type FakeMessage } from '../../support/fake-slack.ts';
import { FakeSocketMode } from '../../support/fake-socket-mode.ts';
import { startRedis, type TestRedis } from '../../support/redis.ts';
import { Clock, config, context, incident, job } from './helpers.ts';

const slack = new FakeSlack();
const sm = new FakeSocketMode();
const action = createSlackAction({ channelSpacingMs: 0 });
let env: NodeJS.ProcessEnv;
let redis: TestRedis;
const links: Interactivity[] = [];
const closers: (() => Promise<unknown>)[] = [];

before(async () => {
  await slack.start();
  await sm.start(slack);
  slack.usergroups.set('SOPS', ['UBOB']);
  env = { SLACK_BOT_TOKEN: slack.token, SLACK_APP_TOKEN: slack.appToken };
  redis = await startRedis();
});
after(async () => {
  for (const l of links) await l.stop();
  for (const c of closers) await c();
  await sm.stop();
  await slack.stop();
  await redis.stop();
});

let seq = 0;
/** One engine: a store, a silence service over a real suppressor, its click link, and what its clicks did. */
async function engine(
  store: ActionStore = new MemoryStore(),
  channel = `C${(++seq).toString().padStart(4, '0')}X`,
  alone = true,
  host = 'node-a',
) {
  // The stand-in gives a click to any connection of the app: one engine per test, unless the test is about a fleet.
  if (alone) for (const l of links.splice(0)) await l.stop();
  const cfg = {
    ...config({
      api_url: slack.url,
      channel,
      interactivity: { allowed_users: ['UALICE'], allowed_groups: ['SOPS'], group_cache: '60s' },
    }),
    host,
  };
  const asked: CaptureRequestMsg[] = [];
  const suppressor = new Suppressor();
  const silences = localSilences(() => suppressor);
  const results: ClickResult[] = [];
  const enqueued: unknown[] = [];
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const link = await startInteractivity({
    config: cfg,
    env,
    log: quiet,
    store,
    silences,
    enqueue: async (i) => enqueued.push(i),
    onClick: (r) => results.push(r),
    pingTimeoutMs: 500,
    silenceSyncMs: 100,
    mailboxMs: 100,
    captures: {
      request: async (r) => {
        asked.push(r);
        return {
          accepted: true,
          captureId: `cap-${host}`,
          incidentId: 'x',
          key: 'k',
          durationMs: 10_000,
          probes: r.probes ?? [],
          target: {},
        };
      },
      extend: async () => ({ extended: true, endsAt: Date.now() }),
    },
  });
  assert.ok(link, 'the link starts with an app token');
  links.push(link);
  return { cfg, store, suppressor, results, enqueued, link, channel, asked };
}

/** Posts the incident message through the Slack action (the engine's store holds the group). */
async function post(e: Awaited<ReturnType<typeof engine>>, i: Incident): Promise<FakeMessage> {
  const clock = new Clock(Date.now());
  await action.execute(job(i), context(e.cfg, env, clock, e.store));
  const p = slack.parents().find((m) => m.channel === e.channel);
  assert.ok(p, 'parent posted');
  return p;
}

/** A block_actions payload as Slack sends it for a click on `m`. */
function click(m: FakeMessage, user: string, actionId: string, value: string, menu = false): unknown {
  return {
    type: 'block_actions',
    user: { id: user, username: user.slice(1).toLowerCase(), team_id: 'T1' },
    api_app_id: 'A0TRIPLINE',
    container: { type: 'message', message_ts: m.ts, channel_id: m.channel, is_ephemeral: false },
    channel: { id: m.channel, name: 'ops' },
    message: { ts: m.ts, text: m.text },
    actions: [
      menu
        ? {
            type: 'static_select',
            action_id: actionId,
            block_id: 'tl_controls',
            selected_option: { text: { type: 'plain_text', text: value }, value },
            action_ts: `${Date.now() / 1000}`,
          }
        : { type: 'button', action_id: actionId, block_id: 'tl_controls', value, action_ts: `${Date.now() / 1000}` },
    ],
  };
}

const actionIds = (m: FakeMessage): string[] =>
  (m.blocks as { type: string; elements?: { action_id?: string }[] }[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => (b.elements ?? []).map((e) => e.action_id ?? ''));

test('Silence 1 h: acked, silenced through the silence service, told in the thread, buttons updated in place', async () => {
  const e = await engine();
  const i = incident('web-1', Date.now());
  const m = await post(e, i);
  assert.deepEqual(
    actionIds(m),
    ['tl_silence', 'tl_silence_for', 'tl_capture'],
    'firing message offers the silence buttons',
  );
  const env1 = sm.deliver(click(m, 'UALICE', 'tl_silence', '1h'));
  await sm.until(() => e.results.length === 1, 15_000, 'the click');
  assert.deepEqual(e.results, ['silenced']);
  assert.ok(sm.acks.includes(env1.envelope_id), 'the envelope was acked');
  const [s] = e.suppressor.list();
  assert.ok(s, 'one silence');
  assert.equal(s.author, 'slack:alice');
  assert.ok(Math.abs(s.endsAt - s.startsAt - 3600_000) < 1000, 'one hour');
  assert.ok(
    e.suppressor.silencedBy({ ...i.labels, rule: i.rule }, Date.now() + 1000),
    "it silences the incident's series",
  );
  assert.match(slack.replies(m.ts).at(-1)!.text, /Silenced for 1 h by <@UALICE>/);
  assert.equal(m.updates, 1);
  assert.deepEqual(actionIds(m), ['tl_unsilence', 'tl_capture'], 'Silence gone, Unsilence shown');
  assert.match(JSON.stringify(m.blocks), /Silenced until .* by <@UALICE>/);

  // Unsilence on the silence's message (the reply): the silence is removed and the parent shows Silence again.
  const silenceReply = slack.replies(m.ts).at(-1)!;
  assert.deepEqual(actionIds(silenceReply), ['tl_unsilence']);
  sm.deliver(click(silenceReply, 'UALICE', 'tl_unsilence', 'unsilence'));
  await sm.until(() => e.results.length === 2, 15_000, 'the unsilence');
  assert.equal(e.results[1], 'unsilenced');
  assert.deepEqual(e.suppressor.list(), []);
  assert.match(slack.replies(m.ts).at(-1)!.text, /Unsilenced by <@UALICE>/);
  assert.equal(slack.replies(silenceReply.ts).length, 0, 'the answer goes to the incident thread');
  assert.deepEqual(actionIds(m), ['tl_silence', 'tl_silence_for', 'tl_capture']);
});

test('without an app token the message carries no buttons', async () => {
  const cfg = config({ api_url: slack.url, channel: 'CNOAPP' });
  await action.execute(job(incident('web-0', Date.now())), context(cfg, { SLACK_BOT_TOKEN: slack.token }, new Clock()));
  const m = slack.parents().find((p) => p.channel === 'CNOAPP')!;
  assert.deepEqual(actionIds(m), []);
  assert.doesNotMatch(JSON.stringify(m.blocks), /tl_/);
});

test('the menu silences for 24 h; a member of an allowed user group may click; others get an ephemeral refusal', async () => {
  const e = await engine();
  const m = await post(e, incident('web-2', Date.now()));
  const groupReads = slack.calls('usergroups.users.list').length;
  sm.deliver(click(m, 'UEVE', 'tl_silence', '1h'));
  await sm.until(() => e.results.length === 1, 15_000, 'the refused click');
  assert.deepEqual(e.results, ['not-allowed']);
  assert.deepEqual(e.suppressor.list(), [], 'nothing silenced');
  const eph = slack.ephemerals.at(-1)!;
  assert.equal(eph.user, 'UEVE');
  assert.match(eph.text, /not allowed/);
  assert.equal(m.updates, 0, 'the message is untouched');

  sm.deliver(click(m, 'UBOB', 'tl_silence_for', '24h', true));
  await sm.until(() => e.results.length === 2, 15_000, 'the group member click');
  assert.equal(e.results[1], 'silenced');
  const [s] = e.suppressor.list();
  assert.ok(Math.abs(s.endsAt - s.startsAt - 86_400_000) < 1000, '24 hours');
  assert.match(slack.replies(m.ts).at(-1)!.text, /Silenced for 24 h by <@UBOB>/);
  assert.equal(slack.calls('usergroups.users.list').length - groupReads, 1, 'the group was read once (cached)');
});

test('a click delivered twice (a Slack retry) acts once', async () => {
  const e = await engine();
  const m = await post(e, incident('web-3', Date.now()));
  const payload = click(m, 'UALICE', 'tl_silence', '1h');
  sm.deliver(payload);
  sm.deliver(payload);
  await sm.until(() => e.results.length === 2, 15_000, 'both deliveries');
  assert.deepEqual([...e.results].sort(), ['duplicate', 'silenced']);
  assert.equal(e.suppressor.list().length, 1);
  assert.equal(slack.replies(m.ts).filter((r) => /Silenced/.test(r.text)).length, 1);
  // Each click is named once, whatever it does: a refused click delivered twice is answered once.
  const refused = click(m, 'UEVE', 'tl_silence', '1h');
  const before = slack.ephemerals.length;
  sm.deliver(refused);
  sm.deliver(refused);
  await sm.until(() => e.results.length === 4, 15_000, 'both refused deliveries');
  assert.deepEqual(e.results.slice(2).sort(), ['duplicate', 'not-allowed']);
  assert.equal(slack.ephemerals.length - before, 1);
});

test('the connection drops and comes back: a click sent meanwhile is delivered after the reconnect, once', async () => {
  const e = await engine();
  const m = await post(e, incident('web-4', Date.now()));
  await sm.until(() => sm.connections >= 1, 15_000, 'a connection');
  const opened = sm.opened;
  // Slack unreachable for a while: the drop, then refused attempts (retried with a growing delay).
  sm.refuse = true;
  sm.drop();
  await sm.until(() => sm.connections === 0, 15_000, 'the drop');
  const env1 = sm.deliver(click(m, 'UALICE', 'tl_silence', '1h'));
  assert.equal(env1.sends, 0, 'nobody connected: the envelope waits');
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(e.results, []);
  sm.refuse = false;
  await sm.until(() => e.results.length === 1, 30_000, 'the click after the reconnect');
  assert.deepEqual(e.results, ['silenced']);
  assert.ok(sm.opened > opened, 'the client reconnected (apps.connections.open again)');
  assert.ok(env1.acked);

  // A refresh (Slack recycling its server) reconnects too, and clicks keep working.
  const before = sm.opened;
  sm.refresh();
  await sm.until(() => sm.opened > before && sm.connections >= 1, 30_000, 'the refresh reconnect');
  sm.deliver(click(m, 'UALICE', 'tl_unsilence', 'unsilence'));
  await sm.until(() => e.results.length === 2, 30_000, 'the click after the refresh');
  assert.equal(e.results[1], 'unsilenced');
});

test('two engines on one Redis: a click delivered to both is handled once', async () => {
  const clients = [openRedis(redis.url, 'commands'), openRedis(redis.url, 'commands')];
  for (const c of clients) closers.push(() => c.quit());
  const prefix = `t${Date.now()}`;
  const channel = 'CFLEET1';
  const a = await engine(new RedisStore(clients[0], prefix), channel);
  const b = await engine(new RedisStore(clients[1], prefix), channel, false);
  const m = await post(a, incident('web-5', Date.now()));
  // Both engines share the silences of their own probe sides; the click must reach one of them only.
  await sm.until(() => sm.connections >= 2, 15_000, 'both connected');
  sm.deliver(click(m, 'UALICE', 'tl_silence', '1h'), 'all');
  await sm.until(() => a.results.length + b.results.length >= 2, 15_000, 'both engines saw it');
  assert.deepEqual([...a.results, ...b.results].sort(), ['duplicate', 'silenced']);
  // The silence reaches every engine's probe side, whichever took the click, once each.
  await sm.until(() => a.suppressor.list().length === 1 && b.suppressor.list().length === 1, 15_000, 'both silenced');
  const labels = { namespace: 'shop', pod: 'web-5', rule: 'cpu-throttling' };
  assert.ok(a.suppressor.silencedBy(labels, Date.now() + 1000) && b.suppressor.silencedBy(labels, Date.now() + 1000));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(a.suppressor.list().length + b.suppressor.list().length, 2, 'no second copy on later syncs');
  sm.deliver(click(m, 'UALICE', 'tl_unsilence', 'unsilence'));
  await sm.until(() => a.suppressor.list().length + b.suppressor.list().length === 0, 15_000, 'both unsilenced');
  assert.equal(slack.replies(m.ts).filter((r) => /Silenced/.test(r.text)).length, 1);
});

test("two engines on one Redis: a capture click the other engine gets is passed to the incident's host", async () => {
  const clients = [openRedis(redis.url, 'commands'), openRedis(redis.url, 'commands')];
  for (const c of clients) closers.push(() => c.quit());
  const prefix = `c${Date.now()}`;
  const channel = 'CFLEET2';
  const a = await engine(new RedisStore(clients[0], prefix), channel, true, 'node-a');
  const b = await engine(new RedisStore(clients[1], prefix), channel, false, 'node-b');
  const m = await post(a, incident('web-6', Date.now(), { host: 'node-a' }));
  await sm.until(() => sm.connections >= 2, 15_000, 'both connected');
  sm.deliver(click(m, 'UALICE', 'tl_capture', 'capture'), 'last');
  await sm.until(() => a.results.length === 1, 15_000, 'the forwarded click');
  assert.deepEqual(b.results, ['forwarded']);
  assert.match(slack.ephemerals.at(-1)!.text, /Passed to node-a/);
  assert.deepEqual(a.results, ['captured']);
  assert.equal(a.asked.length, 1, "the capture was asked of the incident's host");
  assert.equal(b.asked.length, 0);
  assert.match(slack.replies(m.ts).at(-1)!.text, /Capturing .* \(capture cap-node-a\)/);
});

test('the mailbox is not trusted: a forged click of a user not on the allowlist, or a silence, does nothing', async () => {
  const store = new MemoryStore();
  const e = await engine(store, 'CFORGE1', true, 'node-a');
  const m = await post(e, incident('web-7', Date.now(), { host: 'node-a' }));
  const box = new Mailbox(store);
  const forged = (user: string, actionId: string, value: string) => ({
    user,
    userName: user.slice(1).toLowerCase(),
    channel: m.channel,
    messageTs: m.ts,
    actionId,
    value,
    actionTs: `${Date.now() / 1000}`,
  });
  // Written straight into node-a's mailbox (whoever can write Redis): no engine claimed these clicks.
  await box.send('node-a', forged('UEVE', 'tl_capture', 'capture'));
  await box.send('node-a', forged('UALICE', 'tl_silence_for', '24h'));
  await box.send('node-a', { ...forged('UALICE', 'tl_capture', 'capture'), user: 'x' } as never);
  await sm.until(() => e.results.length === 3, 15_000, 'the mailbox read');
  assert.deepEqual([...e.results].sort(), ['ignored', 'ignored', 'not-allowed']);
  assert.equal(e.asked.length, 0, 'no capture asked');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(e.suppressor.list(), [], 'no silence');
  assert.equal(m.updates, 0);
  // A real forwarded click is handled once, however often it is found in the mailbox.
  const ok = forged('UALICE', 'tl_capture', 'capture');
  await box.send('node-a', ok);
  await box.send('node-a', ok);
  await sm.until(() => e.results.length === 5, 15_000, 'the forwarded click');
  assert.deepEqual(e.results.slice(3).sort(), ['captured', 'duplicate']);
  assert.equal(e.asked.length, 1);
});

test('a restarted engine keeps its persisted Slack silences and adds no second copy', async () => {
  const store = new MemoryStore();
  const suppressor = new Suppressor();
  const local = localSilences(() => suppressor);
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const first = new SilenceSync(store, local, quiet);
  const now = Date.now();
  const spec = {
    matchers: { rule: 'cpu-throttling', pod: 'web-9' },
    starts_at: new Date(now).toISOString(),
    ends_at: new Date(now + 3600_000).toISOString(),
    author: 'slack:alice',
    comment: 'from Slack',
  };
  const sid = await first.publish(spec);
  await first.sync();
  assert.equal(suppressor.list().length, 1);
  // The restart: a new sync over the same store; the probe side restored its API silences from its state.
  const again = new SilenceSync(store, local, quiet);
  await again.sync();
  assert.equal(suppressor.list().length, 1);
  await again.unpublish([sid]);
  await again.sync();
  assert.deepEqual(suppressor.list(), []);
  // A spec the silence service would refuse is refused before it reaches the fleet.
  await assert.rejects(first.publish({ ...spec, matchers: {} }), /matchers/);
});

test('a refused app token stops the link with its fix in the log, and no token is ever logged', async () => {
  const lines: string[] = [];
  const log = (level: string) => (obj: object, msg?: string) =>
    void lines.push(`${level} ${msg} ${JSON.stringify(obj)}`);
  const cfg = config({ api_url: slack.url, interactivity: { allowed_users: ['UALICE'] } });
  const wrong = 'xapp-1-A0-wrong-secret-value';
  const link = await startInteractivity({
    config: cfg,
    env: { SLACK_BOT_TOKEN: slack.token, SLACK_APP_TOKEN: wrong },
    log: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    store: new MemoryStore(),
    silences: localSilences(() => new Suppressor()),
    enqueue: async () => undefined,
    pingTimeoutMs: 200,
  });
  assert.ok(link);
  links.push(link);
  await sm.until(() => link.socket.failed !== undefined, 15_000, 'the refusal');
  assert.equal(link.socket.failed, 'invalid_auth');
  assert.match(lines.join('\n'), /error slack socket mode: the app token is refused.*SLACK_APP_TOKEN/);
  assert.ok(!lines.join('\n').includes(wrong) && !lines.join('\n').includes(slack.token), 'no token in the log');
});

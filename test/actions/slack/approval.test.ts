/**
 * Scale approval end to end: a scale action with `approval: required` asks in the thread (Approve scale / Reject
 * buttons on the message), a click over Socket Mode decides, the `decide` job scales (one PATCH, naming who
 * approved) or does not; without a click the deadline posts "not approved, no scale" and no PATCH is sent. The
 * request and decision live in the action store (Redis here), so a restarted engine carries on.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSlackAction } from '../../../src/actions/slack/index.ts';
import { createScaleAction } from '../../../src/actions/scale/index.ts';
import { startInteractivity, type Interactivity } from '../../../src/actions/slack/interactive/service.ts';
import type { ClickResult } from '../../../src/actions/slack/interactive/clicks.ts';
import { localSilences } from '../../../src/rules/silence-service.ts';
import { Suppressor } from '../../../src/rules/evaluate/suppress.ts';
import { MemoryStore } from '../../../src/actions/store-memory.ts';
import { RedisStore } from '../../../src/actions/store-redis.ts';
import { openRedis } from '../../../src/redis-client.ts';
import { toJob } from '../../../src/actions/job-id.ts';
import { decisionOf } from '../../../src/actions/scale/approval.ts';
import { buildConfig, type Config } from '../../../src/config.ts';
import type { ActionJob, ActionJobInput, ActionStore } from '../../../src/actions/types.ts';
import type { ScaleActionSpec } from '../../../src/actions/scale/spec.ts';
import type { SlackActionSpec } from '../../../src/actions/slack/spec.ts';
import { FakeSlack, type FakeMessage } from '../../support/fake-slack.ts';
import { FakeSocketMode } from '../../support/fake-socket-mode.ts';
import { FakeKube } from '../../support/fake-kube.ts';
import { startRedis, type TestRedis } from '../../support/redis.ts';
import { BUNDLES_DIR, Clock, bundle, context, incident } from './helpers.ts';
import { scaleSpecWith } from '../fixtures/scale.ts';

const slack = new FakeSlack();
const sm = new FakeSocketMode();
const kube = new FakeKube();
const slackAction = createSlackAction({ channelSpacingMs: 0 });
let redis: TestRedis;
let env: NodeJS.ProcessEnv;
let link: Interactivity | undefined;
const closers: (() => Promise<unknown>)[] = [];
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

before(async () => {
  await Promise.all([slack.start(), kube.start()]);
  await sm.start(slack);
  env = { SLACK_BOT_TOKEN: slack.token, SLACK_APP_TOKEN: slack.appToken };
  redis = await startRedis();
});
after(async () => {
  await link?.stop();
  for (const c of closers) await c();
  await sm.stop();
  await slack.stop();
  await kube.stop();
  await redis.stop();
});

let n = 0;
const scaleSpec = scaleSpecWith({ restore: false, approval: 'required' });

/** A namespace with a Deployment, an incident on its pod, the message posted, and a click link on `store`. */
async function setup(store: ActionStore) {
  const namespace = `ap${++n}`;
  const channel = `CAPPR${n}`;
  const [uid] = kube.addDeployment(namespace, 'web', 2, 1);
  const cfg: Readonly<Config> = buildConfig(
    {
      host: 'node-a',
      slack: {
        api_url: slack.url,
        channel,
        group_wait: '0s',
        interactivity: { allowed_users: ['UALICE', 'UBOB'] },
      },
      kubernetes: { api_url: kube.url },
      bundles: { dir: BUNDLES_DIR },
    },
    {},
  );
  const clock = new Clock(Date.now());
  const i = incident('web-1', clock.t, { target: { pod: { uid } }, labels: { namespace, pod: 'web-1' } });
  const slackSpec: SlackActionSpec = { type: 'slack' };
  const base = { incident: i, bundle: bundle(), actions: [slackSpec, scaleSpec], enqueuedAt: 0 };
  const slackJob = (event: ActionJob['event'], over: Partial<ActionJob<SlackActionSpec>> = {}) =>
    ({
      ...base,
      id: `s-${event}-${over.seq ?? ''}-${i.id}`,
      event,
      spec: slackSpec,
      index: 0,
      ...over,
    }) as ActionJob<SlackActionSpec>;
  const scaleJob: ActionJob<ScaleActionSpec> = { ...base, id: `k-${i.id}`, event: 'firing', spec: scaleSpec, index: 1 };
  const ctx = context(cfg, env, clock, store);
  await slackAction.execute(slackJob('firing'), ctx);
  const m = slack.parents().find((p) => p.channel === channel)!;
  await link?.stop();
  const results: ClickResult[] = [];
  const enqueued: ActionJobInput[] = [];
  const suppressor = new Suppressor();
  link = await startInteractivity({
    config: cfg,
    env,
    log: quiet,
    store,
    silences: localSilences(() => suppressor),
    enqueue: async (input) => enqueued.push(input),
    onClick: (r) => results.push(r),
    pingTimeoutMs: 500,
    now: () => clock.t,
  });
  /** Delivers what the scale action told its siblings to the Slack action (the queue's job). */
  const relay = async (): Promise<void> => {
    for (const [k, note] of ctx.notified.entries())
      await slackAction.execute(slackJob('scaled', { detail: note.detail, seq: `n${k}` }), ctx);
  };
  return { cfg, clock, ctx, m, namespace, scaleJob, results, enqueued, relay };
}

function click(m: FakeMessage, user: string, actionId: string, value: string): unknown {
  return {
    type: 'block_actions',
    user: { id: user, username: user.slice(1).toLowerCase() },
    container: { type: 'message', message_ts: m.ts, channel_id: m.channel },
    actions: [{ type: 'button', action_id: actionId, value, action_ts: `${Date.now() / 1000}` }],
  };
}

const buttons = (m: FakeMessage): { action_id: string; value: string }[] =>
  (m.blocks as { type: string; elements?: { action_id: string; value: string }[] }[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements ?? []);
const patches = (ns: string) => kube.patches().filter((p) => p.path.includes(`/namespaces/${ns}/`));

test('Approve: the scale waits, a click approves, the decide job scales once naming the person, even after a restart', async () => {
  const conn = openRedis(redis.url, 'commands');
  closers.push(() => conn.quit());
  const prefix = `ap${Date.now()}`;
  const s = await setup(new RedisStore(conn, prefix));
  const asked = await createScaleAction().execute(s.scaleJob, s.ctx);
  assert.equal(asked.status, 'skipped');
  assert.match(asked.summary, /waiting for approval/);
  assert.equal(patches(s.namespace).length, 0, 'no PATCH before the decision');
  assert.equal(s.ctx.scheduled[0]?.event, 'decide', 'the deadline is scheduled');
  assert.equal(s.ctx.scheduled[0]?.notBefore, s.clock.t + 900_000);
  await s.relay();
  const approve = buttons(s.m).find((b) => b.action_id === 'tl_approve');
  assert.ok(approve, 'the message shows Approve scale');
  assert.match(slack.replies(s.m.ts).at(-1)!.text, /waits for approval/);

  sm.deliver(click(s.m, 'UALICE', 'tl_approve', approve.value));
  await sm.until(() => s.results.length === 1, 15_000, 'the approval');
  assert.deepEqual(s.results, ['approved']);
  assert.equal(buttons(s.m).filter((b) => b.action_id === 'tl_approve').length, 0, 'the approval buttons are gone');
  assert.match(slack.replies(s.m.ts).at(-1)!.text, /Scale approved by <@UALICE>/);
  assert.equal(s.enqueued.length, 1);
  assert.equal(s.enqueued[0].event, 'decide');
  // Job ids name the trip: a later trip of the same series asks and decides anew.
  assert.equal(s.enqueued[0].seq, `${s.scaleJob.incident.id}-click`);
  assert.equal(s.ctx.scheduled[0].seq, `${s.scaleJob.incident.id}-deadline`);

  // A restarted engine: a new action and a new connection to the same Redis run the queued decide job.
  const conn2 = openRedis(redis.url, 'commands');
  closers.push(() => conn2.quit());
  const ctx2 = context(s.cfg, env, s.clock, new RedisStore(conn2, prefix));
  const decideJob = toJob(s.enqueued[0], s.clock.t) as ActionJob<ScaleActionSpec>;
  const out = await createScaleAction().execute(decideJob, ctx2);
  assert.equal(out.status, 'delivered');
  assert.equal(patches(s.namespace).length, 1);
  assert.deepEqual(patches(s.namespace)[0].body, { spec: { replicas: 3 } });
  assert.match(String(ctx2.notified[0].detail?.text), /from 2 to 3 replicas.*Approved by alice \(UALICE\)/);
  // The deadline's own decide job later finds the approval and the scale done: no second PATCH.
  s.clock.t += 900_000;
  await createScaleAction().execute({ ...decideJob, id: 'deadline' }, ctx2);
  assert.equal(patches(s.namespace).length, 1);
  // A second click finds it decided.
  sm.deliver(click(s.m, 'UBOB', 'tl_reject', approve.value));
  await sm.until(() => s.results.length === 2, 15_000, 'the late click');
  assert.equal(s.results[1], 'already-decided');
  assert.match(slack.ephemerals.at(-1)!.text, /already decided: approved by <@UALICE>/);
});

test('Reject: no PATCH, and the thread says who rejected', async () => {
  const s = await setup(new MemoryStore());
  const action = createScaleAction();
  await action.execute(s.scaleJob, s.ctx);
  await s.relay();
  const reject = buttons(s.m).find((b) => b.action_id === 'tl_reject')!;
  sm.deliver(click(s.m, 'UBOB', 'tl_reject', reject.value));
  await sm.until(() => s.results.length === 1, 15_000, 'the rejection');
  assert.deepEqual(s.results, ['rejected']);
  const out = await action.execute(toJob(s.enqueued[0], s.clock.t) as ActionJob<ScaleActionSpec>, s.ctx);
  assert.equal(out.status, 'skipped');
  assert.match(out.summary, /rejected by bob \(UBOB\)/);
  assert.equal(patches(s.namespace).length, 0);
  assert.match(slack.replies(s.m.ts).at(-1)!.text, /Scale rejected by <@UBOB>: no scale/);
});

test('approval timeout: "not approved, no scale", no PATCH, the buttons go; a later click is refused', async () => {
  const s = await setup(new MemoryStore());
  const action = createScaleAction();
  await action.execute(s.scaleJob, s.ctx);
  await s.relay();
  const ref = buttons(s.m).find((b) => b.action_id === 'tl_approve')!.value;
  // The deadline job runs at its time (a delayed job; it would be early before).
  const deadline = toJob(
    { ...s.scaleJob, event: 'decide', seq: 'deadline', notBefore: s.ctx.scheduled[0].notBefore },
    s.clock.t,
  ) as ActionJob<ScaleActionSpec>;
  const early = await action.execute(deadline, s.ctx);
  assert.match(early.summary, /not decided yet/);
  s.clock.t += 900_000;
  // A click after the deadline but before its job ran: the deadline decides, not the click.
  sm.deliver(click(s.m, 'UALICE', 'tl_approve', ref));
  await sm.until(() => s.results.length === 1, 15_000, 'the late click');
  assert.deepEqual(s.results, ['already-decided']);
  assert.match(slack.ephemerals.at(-1)!.text, /already decided: expired/);
  const out = await action.execute(deadline, s.ctx);
  assert.equal(out.status, 'skipped');
  assert.match(out.summary, /Not approved within 15 min: no scale/);
  assert.equal(patches(s.namespace).length, 0, 'no PATCH');
  await s.relay();
  assert.match(slack.replies(s.m.ts).at(-1)!.text, /Not approved within 15 min: no scale/);
  assert.equal(buttons(s.m).filter((b) => b.action_id === 'tl_approve').length, 0, 'no approval buttons any more');
  assert.deepEqual(s.enqueued, [], 'nothing queued');
});

test("Approve on one message with another message's approval id is refused: nothing decided, nothing queued", async () => {
  const store = new MemoryStore();
  const first = await setup(store);
  await createScaleAction().execute(first.scaleJob, first.ctx);
  await first.relay();
  const ref = buttons(first.m).find((b) => b.action_id === 'tl_approve')!.value;
  // A second incident message (no approval of its own); a crafted click names the first message's approval.
  const second = await setup(store);
  sm.deliver(click(second.m, 'UALICE', 'tl_approve', ref));
  await sm.until(() => second.results.length === 1, 15_000, 'the crafted click');
  assert.deepEqual(second.results, ['not-allowed']);
  assert.match(slack.ephemerals.at(-1)!.text, /does not wait for that scale approval/);
  assert.deepEqual(second.enqueued, [], 'nothing queued');
  assert.equal(await decisionOf(store, ref), undefined, 'the approval is still undecided');
  assert.ok(
    buttons(first.m).some((b) => b.action_id === 'tl_approve'),
    'the first message still asks',
  );
});

test('a scale that needs approval on an engine without an app token is reported at load', () => {
  const cfg = buildConfig({ kubernetes: { api_url: kube.url } }, {});
  const action = createScaleAction();
  assert.throws(() => action.check!(scaleSpec, cfg, {}), /approval: required, but no Slack app token/);
  action.check!(scaleSpec, cfg, { SLACK_APP_TOKEN: 'xapp-1' });
  action.check!({ ...scaleSpec, approval: 'none' }, cfg, {});
});

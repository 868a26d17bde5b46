import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createSlackAction } from '../../../src/actions/slack/index.ts';
import { groupId } from '../../../src/actions/slack/group.ts';
import { RateLimitedError, RetryableError } from '../../../src/actions/errors.ts';
import type { ActionContext, ActionJob } from '../../../src/actions/types.ts';
import type { SlackActionSpec } from '../../../src/actions/slack/spec.ts';
import { FakeSlack } from '../../support/fake-slack.ts';
import { buildConfig } from '../../../src/config.ts';
import { hasCode } from '../../../src/errors.ts';
import { Clock, bundle, config, context, incident, job, resolved } from './helpers.ts';

const slack = new FakeSlack();
const action = createSlackAction({ channelSpacingMs: 0 });
let env: NodeJS.ProcessEnv;

before(async () => {
  await slack.start();
  env = { SLACK_BOT_TOKEN: slack.token };
});
after(async () => {
  await slack.stop();
});

/** Runs a job the way the queue does: a RateLimitedError parks it (the clock moves on), other errors retry. */
async function deliver(
  j: ActionJob<SlackActionSpec>,
  ctx: ActionContext,
  clock: Clock,
  maxTries = 10,
): Promise<Awaited<ReturnType<typeof action.execute>>> {
  for (let n = 1; ; n++) {
    try {
      return await action.execute(j, ctx);
    } catch (err) {
      if (n >= maxTries) throw err;
      if (err instanceof RateLimitedError) clock.t += err.retryAfterMs;
      else if (!(err instanceof RetryableError)) throw err;
    }
  }
}

function fresh(): { clock: Clock; ctx: ReturnType<typeof context>; channel: string } {
  const channel = `C${Math.random().toString(36).slice(2, 8).toUpperCase()}`;
  const clock = new Clock();
  return { clock, channel, ctx: context(config({ api_url: slack.url, channel }), env, clock) };
}

test('an incident becomes one message with its findings; the bundle is uploaded into its thread', async () => {
  const { clock, ctx, channel } = fresh();
  const b = bundle();
  const out = await deliver(job(incident('web-1', clock.t), 'firing', { bundle: b }), ctx, clock);
  assert.equal(out.status, 'delivered');
  const parents = slack.parents().filter((m) => m.channel === channel);
  assert.equal(parents.length, 1);
  const json = JSON.stringify(parents[0].blocks);
  assert.match(json, /limit-bound/);
  assert.match(json, /used its whole CPU quota/);
  const files = [...slack.files.values()].filter((f) => f.channel === channel);
  assert.equal(files.length, 1);
  assert.equal(files[0].threadTs, parents[0].ts);
  assert.equal(files[0].received, 2048);
  assert.equal(files[0].completions, 1);
});

test('resolve goes to the same thread and updates the parent', async () => {
  const { clock, ctx, channel } = fresh();
  const i = incident('web-2', clock.t);
  await deliver(job(i), ctx, clock);
  clock.t += 120_000;
  await deliver(job(resolved(i, clock.t), 'resolved'), ctx, clock);
  const parents = slack.parents().filter((m) => m.channel === channel);
  assert.equal(parents.length, 1, 'no second top-level message');
  assert.equal(parents[0].updates, 1);
  assert.match(JSON.stringify(parents[0].blocks), /cpu-throttling resolved/);
  const replies = slack.replies(parents[0].ts);
  assert.equal(replies.length, 1);
  assert.match(replies[0].text, /Resolved after/);
});

test('a bundle that is ready after the first post updates the parent and goes into the thread', async () => {
  const { clock, ctx, channel } = fresh();
  const i = incident('web-late', clock.t);
  await deliver(job(i), ctx, clock);
  const parent = slack.parents().find((m) => m.channel === channel)!;
  assert.doesNotMatch(JSON.stringify(parent.blocks), /limit-bound/);
  clock.t += 15_000;
  await deliver(
    job(i, 'update', { seq: 'bundle', bundle: bundle('20261125T140000-cpu-throttling-0000late') }),
    ctx,
    clock,
  );
  assert.equal(parent.updates, 1);
  assert.match(JSON.stringify(parent.blocks), /limit-bound/);
  assert.equal([...slack.files.values()].filter((f) => f.threadTs === parent.ts).length, 1);
});

test("Slack's 429 reaches the queue as RateLimitedError; the retry posts once", async () => {
  const { clock, ctx, channel } = fresh();
  slack.fail('chat.postMessage', { status: 429, retryAfter: 3 });
  const j = job(incident('web-429', clock.t));
  await assert.rejects(
    action.execute(j, ctx),
    (e: unknown) => e instanceof RateLimitedError && e.retryAfterMs === 3000,
  );
  slack.fail('chat.postMessage', { status: 500 });
  await assert.rejects(action.execute(j, ctx), (e: unknown) => e instanceof RetryableError && e.reason === 'http_500');
  await action.execute(j, ctx);
  await action.execute(j, ctx);
  assert.equal(slack.parents().filter((m) => m.channel === channel).length, 1);
});

test('a retried upload never posts the file twice', async () => {
  const { clock, ctx, channel } = fresh();
  const before = slack.calls('files.getUploadURLExternal').length;
  slack.fail('upload', { status: 500 });
  slack.fail('files.completeUploadExternal', { status: 500 });
  const j = job(incident('web-3', clock.t), 'firing', { bundle: bundle('20261125T140000-cpu-throttling-00000003') });
  await deliver(j, ctx, clock);
  const files = [...slack.files.values()].filter((f) => f.channel === channel);
  assert.equal(files.length, 1);
  assert.equal(files[0].completions, 1);
  assert.equal(slack.calls('files.getUploadURLExternal').length - before, 1, 'the upload resumed with the same file');
  assert.equal(slack.parents().filter((m) => m.channel === channel).length, 1);
  // The whole job delivered again (at-least-once queue): nothing new is posted.
  await deliver(j, ctx, clock);
  assert.equal(files[0].completions, 1);
});

test('trips within group_wait become one message listing the series; nothing is posted before', async () => {
  const channel = 'CGROUP';
  const clock = { now: Date.now } as unknown as Clock;
  const ctx = context(config({ api_url: slack.url, channel, group_wait: '400ms' }), env, clock);
  const t0 = Date.now();
  const a = action.execute(job(incident('web-a', t0)), ctx);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(slack.parents().filter((m) => m.channel === channel).length, 0, 'nothing posted during group_wait');
  const b = action.execute(job(incident('web-b', t0 + 100)), ctx);
  const outs = await Promise.all([a, b]);
  assert.ok(Date.now() - t0 >= 350, 'the first post waited for group_wait');
  const parents = slack.parents().filter((m) => m.channel === channel);
  assert.equal(parents.length, 1);
  assert.match(JSON.stringify(parents[0].blocks), /2 series/);
  assert.deepEqual(
    outs.map((o) => o.data?.ts),
    [parents[0].ts, parents[0].ts],
  );
});

test('repeats within group_interval are counted and shown at the next update, never posted again', async () => {
  const channel = 'CREPEAT';
  const clock = new Clock();
  const ctx = context(config({ api_url: slack.url, channel, group_wait: '30s', group_interval: '5m' }), env, clock);
  const timed = createSlackAction({
    channelSpacingMs: 0,
    sleep: async (ms) => {
      clock.t += ms;
    },
  });
  await timed.execute(job(incident('web-a', clock.t)), ctx);
  assert.equal(clock.t, new Clock().t + 30_000, "group_wait passed on the job's clock");
  const parent = slack.parents().find((m) => m.channel === channel)!;
  clock.t += 60_000;
  const r1 = await timed.execute(job(incident('web-a', clock.t)), ctx);
  assert.match(r1.summary, /repeat counted/);
  assert.equal(parent.updates, 0, 'within group_interval: no update');
  clock.t += 60_000;
  await timed.execute(job(incident('web-a', clock.t)), ctx);
  assert.equal(parent.updates, 0);
  clock.t += 300_000;
  await timed.execute(job(incident('web-a', clock.t)), ctx);
  assert.equal(parent.updates, 1);
  assert.match(JSON.stringify(parent.blocks), /3 similar in the last 7m 30s/);
  assert.equal(slack.parents().filter((m) => m.channel === channel).length, 1);
  // After repeat_interval (4h) of quiet a trip starts a new message.
  clock.t += 4 * 3_600_000;
  await timed.execute(job(incident('web-a', clock.t)), ctx);
  assert.equal(slack.parents().filter((m) => m.channel === channel).length, 2);
});

test('messages to one channel are spaced (~1/s), across rules', async () => {
  const spaced = createSlackAction({ channelSpacingMs: 300 });
  const channel = 'CSPACED';
  const ctx = context(config({ api_url: slack.url, channel }), env, { now: Date.now } as unknown as Clock);
  await spaced.execute(job(incident('web-s1', Date.now())), ctx);
  await spaced.execute(job(incident('web-s2', Date.now(), { rule: 'runq-latency' })), ctx);
  const posts = slack.calls('chat.postMessage').filter((r) => r.params.channel === channel);
  assert.equal(posts.length, 2);
  assert.ok(posts[1].at - posts[0].at >= 250, `spaced ${posts[1].at - posts[0].at} ms`);
});

test('scaled and verified notes go into the thread and onto the parent', async () => {
  const { clock, ctx, channel } = fresh();
  const i = incident('web-4', clock.t);
  await deliver(job(i), ctx, clock);
  await deliver(
    job(i, 'scaled', { seq: '1', detail: { kind: 'scaled', text: 'scaled Deployment shop/web 2 → 3 replicas' } }),
    ctx,
    clock,
  );
  await deliver(
    job(i, 'verified', { seq: '1', detail: { kind: 'recovered', text: 'recovered within 2 min after scaling' } }),
    ctx,
    clock,
  );
  const parent = slack.parents().find((m) => m.channel === channel)!;
  const replies = slack.replies(parent.ts).map((r) => r.text);
  assert.equal(replies.length, 2);
  assert.match(replies[0], /scaled Deployment shop\/web 2 → 3/);
  assert.match(replies[1], /recovered/);
  assert.match(JSON.stringify(parent.blocks), /What tripline did.*scaled Deployment/);
});

test('without a token the file sink writes the same Block Kit JSON and the bundle path, mode 0600', async () => {
  const clock = new Clock();
  const cfg = config({ channel: 'COUTBOX' });
  const ctx = context(cfg, {}, clock);
  const b = bundle('20261125T140000-cpu-throttling-0000f11e');
  const out = await deliver(job(incident('web-5', clock.t), 'firing', { bundle: b }), ctx, clock);
  assert.equal(out.status, 'dry-run');
  const dir = join(cfg.data_dir, 'slack-outbox');
  const files = readdirSync(dir).sort();
  assert.equal(files.length, 2);
  const post = JSON.parse(readFileSync(join(dir, files[0]), 'utf8'));
  assert.equal(post.method, 'chat.postMessage');
  assert.equal(post.channel, 'COUTBOX');
  assert.match(JSON.stringify(post.blocks), /limit-bound/);
  const up = JSON.parse(readFileSync(join(dir, files[1]), 'utf8'));
  assert.equal(up.method, 'files.uploadV2');
  assert.equal(up.file, b.tarball);
  assert.equal(up.thread_ts, post.ts);
  for (const f of files) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600);
  rmSync(cfg.data_dir, { recursive: true, force: true });
});

test('check: with a token a slack action needs a channel from the rule, the config or SLACK_CHANNEL; the file sink does not', () => {
  const noChannel = buildConfig({ slack: {} }, {});
  const withToken = { SLACK_BOT_TOKEN: 'xoxb-test' };
  assert.throws(
    () => action.check!({ type: 'slack' }, noChannel, withToken),
    (e: unknown) => hasCode(e, 'ACTION_ERR_CONFIG') && /SLACK_CHANNEL/.test(e.hint),
  );
  action.check!({ type: 'slack', channel: 'C1' }, noChannel, withToken);
  action.check!({ type: 'slack' }, buildConfig({}, { SLACK_CHANNEL: 'C2' }), withToken);
  action.check!({ type: 'slack' }, noChannel, {});
});

test('a job re-run after its engine died holding the group lock takes the lock over; another holder is waited for', async () => {
  const { clock, ctx, channel } = fresh();
  const i = incident('web-lock', clock.t);
  const j = job(i);
  const lock = `slack:lock:${groupId(i, channel)}`;
  // The previous run of this very job (on a killed engine) left its lock: this run posts at once.
  await ctx.store.set(lock, `${j.id}#an-earlier-run`, 30_000);
  const out = await deliver(j, ctx, clock, 1);
  assert.equal(out.status, 'delivered');
  assert.equal(slack.parents().filter((m) => m.channel === channel).length, 1);
  assert.equal(await ctx.store.get(lock), undefined, 'released after the post');
  // A lock of another job is not taken over: the job goes back to the queue.
  const other = fresh();
  const k = job(incident('web-lock2', other.clock.t));
  await other.ctx.store.set(`slack:lock:${groupId(k.incident, other.channel)}`, 'another-job', 30_000);
  const instant = createSlackAction({ channelSpacingMs: 0, sleep: async () => {} });
  await assert.rejects(
    instant.execute(k, other.ctx),
    (e: unknown) => e instanceof RetryableError && e.reason === 'group_busy',
  );
  assert.equal(slack.parents().filter((m) => m.channel === other.channel).length, 0);
});

test("another host's incident (its engine died, this one took the job over): the bundle stays there, the thread says where", async () => {
  const { clock, ctx, channel } = fresh();
  const b = bundle();
  const i = { ...incident('web-elsewhere', clock.t), host: 'node-z' };
  const out = await deliver(job(i, 'firing', { bundle: b }), ctx, clock);
  assert.equal(out.status, 'delivered');
  assert.match(out.summary, /bundle on its host/);
  const parent = slack.parents().find((m) => m.channel === channel)!;
  assert.equal([...slack.files.values()].filter((f) => f.channel === channel).length, 0, 'nothing read or uploaded');
  assert.match(
    slack
      .replies(parent.ts)
      .map((r) => r.text)
      .join('\n'),
    new RegExp(`Bundle ${b.id} is on host node-z: .* \\(delivered by node-a, which does not have it\\)`),
  );
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SlackClient } from '../../../src/actions/slack/client.ts';
import { RateLimitedError, RetryableError, UnrecoverableError } from '../../../src/actions/errors.ts';
import { FakeSlack } from '../../support/fake-slack.ts';

const slack = new FakeSlack();
let client: SlackClient;
const msg = { text: 'hello', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hello' } }] };

before(async () => {
  await slack.start();
  client = new SlackClient({ token: slack.token, apiUrl: slack.url });
});
after(async () => {
  await slack.stop();
});

test('posts through the real client and gets the ts back', async () => {
  const ref = await client.post('C1', msg);
  assert.equal(ref.channel, 'C1');
  assert.deepEqual(slack.messages.at(-1)!.blocks, msg.blocks);
  assert.equal(slack.calls('chat.postMessage').at(-1)!.authorization, `Bearer ${slack.token}`);
});

test('429 with Retry-After becomes RateLimitedError after exactly one request (the client does not retry)', async () => {
  const n = slack.requests.length;
  slack.fail('chat.postMessage', { status: 429, retryAfter: 7 });
  const err = await client.post('C1', msg).catch((e) => e);
  assert.ok(err instanceof RateLimitedError, String(err));
  assert.equal(err.retryAfterMs, 7000);
  assert.equal(slack.requests.length, n + 1);
});

test('5xx is retryable, without retries inside the client', async () => {
  const n = slack.requests.length;
  slack.fail('chat.update', { status: 500 });
  const err = await client.update({ channel: 'C1', ts: '1.1' }, msg).catch((e) => e);
  assert.ok(err instanceof RetryableError, String(err));
  assert.equal(err.reason, 'http_500');
  assert.equal(slack.requests.length, n + 1);
});

test('invalid_auth and channel_not_found are unrecoverable; the token never shows in the error', async () => {
  const bad = new SlackClient({ token: 'xoxb-wrong-secret', apiUrl: slack.url });
  const err = await bad.post('C1', msg).catch((e) => e);
  assert.ok(err instanceof UnrecoverableError, String(err));
  assert.equal(err.reason, 'invalid_auth');
  assert.match(err.hint, /SLACK_BOT_TOKEN/);
  assert.doesNotMatch(`${err.message} ${err.hint} ${err.stack}`, /xoxb-wrong-secret/);
  slack.fail('chat.postMessage', { error: 'channel_not_found' });
  const e2 = await client.post('C404', msg).catch((e) => e);
  assert.ok(e2 instanceof UnrecoverableError);
  assert.equal(e2.reason, 'channel_not_found');
});

test('network errors are retryable', async () => {
  const dead = new SlackClient({ token: 't', apiUrl: 'http://127.0.0.1:9/api/', timeoutMs: 2000 });
  const err = await dead.post('C1', msg).catch((e) => e);
  assert.ok(err instanceof RetryableError, String(err));
  assert.equal(err.reason, 'network');
});

test('auth.test checks the token', async () => {
  assert.deepEqual(await client.authTest(), { team: 'tripline-test', user: 'tripline' });
});

// A stored upload in progress is data from Redis: a planted upload URL is never sent a bundle. The Web API transport
// sends bytes only to Slack's file hosts (or the configured API host on loopback), and a planted progress record
// is dropped so the upload starts over with a URL Slack gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlackClient } from '../../../src/actions/slack/client.ts';
import { uploadBundle } from '../../../src/actions/slack/upload.ts';
import type { PendingUpload, SlackTransport } from '../../../src/actions/slack/transport.ts';
import { MemoryStore } from '../../../src/actions/store-memory.ts';
import { hasCode } from '../../../src/errors.ts';
import { bundle, BUNDLES_DIR } from './helpers.ts';

test('the Web API transport sends bundles only to Slack file hosts or the configured loopback API host', async () => {
  const c = new SlackClient({ token: 'xoxb-test', apiUrl: 'https://slack.com/api/' });
  assert.equal(c.isUploadUrl('https://files.slack.com/upload/v1/abc'), true);
  for (const bad of [
    'http://files.slack.com/x',
    'https://evil.example/x',
    'https://slack.com.evil.example/x',
    'https://u:p@files.slack.com/x',
    'file:///etc/passwd',
    'not a url',
  ])
    assert.equal(c.isUploadUrl(bad), false, bad);
  await assert.rejects(
    c.sendBytes({ fileId: 'F1', uploadUrl: 'https://evil.example/x' }, 'b.tar.gz', Buffer.from('x')),
    /refusing to send a bundle/,
  );
  const local = new SlackClient({ token: 'xoxb-test', apiUrl: 'http://127.0.0.1:9/api/' });
  assert.equal(local.isUploadUrl('http://127.0.0.1:9/upload/F1'), true);
});

test('a Slack token is never sent over plain http except to loopback', () => {
  assert.throws(
    () => new SlackClient({ token: 'xoxb-test', apiUrl: 'http://slack.example/api/' }),
    (e) => hasCode(e, 'ACTION_ERR_CONFIG') && /clear text/.test(e.message),
  );
});

test('a planted upload progress with a foreign URL is dropped: the upload starts over', async () => {
  const store = new MemoryStore();
  const b = bundle('20261125T140000-cpu-throttling-0000beef');
  const key = `slack:upload:k1:${b.id}`;
  await store.set(
    key,
    JSON.stringify({ pending: { fileId: 'F0', uploadUrl: 'https://evil.example/steal' }, sent: false, done: false }),
  );
  const sentTo: string[] = [];
  const transport: SlackTransport = {
    kind: 'client',
    post: async () => ({ channel: 'C', ts: '1' }),
    update: async () => {},
    isUploadUrl: (u) => u.startsWith('https://files.slack.com/'),
    startUpload: async (): Promise<PendingUpload> => ({ fileId: 'F1', uploadUrl: 'https://files.slack.com/upload/F1' }),
    sendBytes: async (u) => void sentTo.push(u.uploadUrl),
    completeUpload: async () => {},
  };
  assert.equal(
    await uploadBundle(transport, store, { channel: 'C', ts: '1' }, 'k1', b, async () => {}, 'slack', BUNDLES_DIR),
    'uploaded',
  );
  assert.deepEqual(sentTo, ['https://files.slack.com/upload/F1']);
});

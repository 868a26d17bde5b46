/**
 * The Socket Mode link never hangs on a Slack that does not answer: apps.connections.open that never replies, or
 * a WebSocket URL whose server accepts the TCP connection and then says nothing, is a failed attempt at its
 * deadline; the link tries again (a fresh client) and connects once Slack answers, and a click then arrives.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { SlackSocket } from '../../../src/actions/slack/interactive/socket.ts';
import { FakeSlack } from '../../support/fake-slack.ts';
import { FakeSocketMode } from '../../support/fake-socket-mode.ts';

const slack = new FakeSlack();
const sm = new FakeSocketMode();
let silent: Server;
const held = new Set<Socket>();

before(async () => {
  await slack.start();
  await sm.start(slack);
  // Accepts connections and never answers (a WebSocket handshake that hangs).
  silent = createServer((s) => {
    held.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
});
after(async () => {
  for (const s of held) s.destroy();
  await new Promise<void>((r) => silent.close(() => r()));
  await sm.stop();
  await slack.stop();
});

test('a hung apps.connections.open and a hung WebSocket handshake end at the deadline; the link connects after', async () => {
  const warnings: string[] = [];
  const log = {
    debug() {},
    info() {},
    error() {},
    warn: (o: object, m?: string) => void warnings.push(`${m} ${JSON.stringify(o)}`),
  };
  const clicks: unknown[] = [];
  const real = slack.connectionsOpen!;
  let opens = 0;
  // The first open never answers; the second gives the URL of the silent server; then Slack is fine.
  slack.fail('apps.connections.open', { hang: true }, 1);
  slack.connectionsOpen = () =>
    ++opens === 1 ? `ws://127.0.0.1:${(silent.address() as AddressInfo).port}/link` : real();
  const socket = new SlackSocket({
    appToken: slack.appToken,
    apiUrl: slack.url,
    log,
    onClick: async (b) => void clicks.push(b),
    pingTimeoutMs: 200,
    connectTimeoutMs: 1000,
  });
  try {
    await socket.start();
    await sm.until(() => socket.connects === 1 && sm.connections === 1, 30_000, 'the connection after two hangs');
    assert.equal(slack.calls('apps.connections.open').length, 3, 'three attempts: hung open, hung socket, ok');
    assert.ok(held.size >= 1, 'the silent server was reached');
    assert.equal(warnings.filter((w) => /cannot connect/.test(w)).length, 2, warnings.join('\n'));
    sm.deliver({ type: 'block_actions', n: 1 });
    await sm.until(() => clicks.length === 1, 15_000, 'a click after the reconnect');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(sm.connections, 1, 'the abandoned attempts hold no connection');
  } finally {
    await socket.stop();
    slack.connectionsOpen = real;
  }
});

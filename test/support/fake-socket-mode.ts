/**
 * A local stand-in for Slack's Socket Mode: a WebSocket server speaking the envelope protocol, used with the real
 * `@slack/socket-mode` client. The Web API stand-in (fake-slack.ts) answers apps.connections.open with this
 * server's URL; each connection gets `hello`; `deliver` sends an `interactive` envelope (to one connection, like
 * Slack, or to every one, to test that a fleet handles a click once); envelopes not acked by their envelope_id are
 * sent again (with `retry_attempt` + 1) after `redeliverMs` or on the next connection, as Slack retries;
 * `drop` cuts every connection without a word, `refresh` sends `disconnect` (reason `refresh_requested`).
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { FakeSlack } from './fake-slack.ts';

/** One envelope sent and its acks. */
export interface Envelope {
  readonly envelope_id: string;
  readonly payload: unknown;
  sends: number;
  acked: boolean;
}

export class FakeSocketMode {
  readonly envelopes: Envelope[] = [];
  /** Connections opened since start (a reconnect adds one). */
  opened = 0;
  /** Envelope ids acked, in order (a duplicate ack shows twice). */
  readonly acks: string[] = [];
  /** Resend unacked envelopes after this long. */
  redeliverMs = 2000;
  #wss?: WebSocketServer;
  #url = '';
  readonly #open = new Set<WebSocket>();
  #ping?: NodeJS.Timeout;
  #redeliver?: NodeJS.Timeout;
  /** While set, connections are refused (a Slack outage). */
  refuse = false;

  /** Starts on a loopback port and points `slack`'s apps.connections.open at it. */
  async start(slack: FakeSlack): Promise<this> {
    this.#wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => this.#wss!.once('listening', () => resolve()));
    this.#url = `ws://127.0.0.1:${(this.#wss.address() as AddressInfo).port}/link`;
    slack.connectionsOpen = () => `${this.#url}/?ticket=${randomUUID()}`;
    this.#wss.on('connection', (ws) => {
      if (this.refuse) {
        ws.terminate();
        return;
      }
      this.opened += 1;
      this.#open.add(ws);
      ws.on('close', () => this.#open.delete(ws));
      ws.on('error', () => this.#open.delete(ws));
      ws.on('message', (data) => this.#onMessage(String(data)));
      ws.send(
        JSON.stringify({
          type: 'hello',
          num_connections: this.#open.size,
          debug_info: { host: 'fake-socket-mode', approximate_connection_time: 3600 },
          connection_info: { app_id: 'A0TRIPLINE' },
        }),
      );
      // Unacked envelopes go to the new connection, as Slack does after a reconnect.
      for (const e of this.envelopes) if (!e.acked) this.#send(ws, e);
    });
    // Slack pings the client; the client reconnects when pings stop.
    this.#ping = setInterval(() => {
      for (const ws of this.#open) ws.ping();
    }, 2000);
    this.#redeliver = setInterval(() => {
      for (const e of this.envelopes) {
        const first = [...this.#open][0];
        if (!e.acked && first) this.#send(first, e);
      }
    }, this.redeliverMs);
    return this;
  }

  async stop(): Promise<void> {
    clearInterval(this.#ping);
    clearInterval(this.#redeliver);
    for (const ws of this.#open) ws.terminate();
    await new Promise<void>((resolve) => (this.#wss ? this.#wss.close(() => resolve()) : resolve()));
  }

  /** Open connections now. */
  get connections(): number {
    return this.#open.size;
  }

  /** Sends an `interactive` envelope with `payload` to one connection (`last`: the newest; `all`: every one). */
  deliver(payload: unknown, to: 'one' | 'last' | 'all' = 'one'): Envelope {
    const e: Envelope = { envelope_id: randomUUID(), payload, sends: 0, acked: false };
    this.envelopes.push(e);
    const targets = [...this.#open];
    for (const ws of to === 'all' ? targets : to === 'last' ? targets.slice(-1) : targets.slice(0, 1))
      this.#send(ws, e);
    return e;
  }

  /** Cuts every connection without a close handshake (a network drop). */
  drop(): void {
    for (const ws of this.#open) ws.terminate();
  }

  /** Asks every client to reconnect (`disconnect`, as Slack does before recycling a server). */
  refresh(): void {
    for (const ws of this.#open) ws.send(JSON.stringify({ type: 'disconnect', reason: 'refresh_requested' }));
  }

  /** Waits until `cond()` holds (polling), or fails after `ms`. */
  async until(cond: () => boolean, ms = 15_000, what = 'condition'): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`fake socket mode: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  #send(ws: WebSocket, e: Envelope): void {
    ws.send(
      JSON.stringify({
        envelope_id: e.envelope_id,
        type: 'interactive',
        payload: e.payload,
        accepts_response_payload: false,
        retry_attempt: e.sends,
        retry_reason: e.sends ? 'timeout' : '',
      }),
    );
    e.sends += 1;
  }

  #onMessage(text: string): void {
    let msg: { envelope_id?: unknown };
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof msg.envelope_id !== 'string') return;
    this.acks.push(msg.envelope_id);
    const e = this.envelopes.find((x) => x.envelope_id === msg.envelope_id);
    if (e) e.acked = true;
  }
}

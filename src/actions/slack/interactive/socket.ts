/**
 * The Socket Mode link: the official `@slack/socket-mode` client (apps.connections.open with the app token, then a
 * WebSocket), reconnected by this module with a doubling delay after a drop, a `disconnect` or a failed attempt
 * (connecting runs in the background: the engine never waits for Slack). Each `interactive`
 * envelope is acked at once (Slack wants it within 3 s; a click's work may take longer), then handed to `onClick`;
 * envelopes not acked before a drop are sent again by Slack, and the click handler acts on each click once. Each
 * attempt has a deadline (apps.connections.open and the WebSocket handshake together): a Slack that never answers
 * is a failed attempt, retried on a fresh client, never a link stuck connecting. The token never reaches a log:
 * the SDK's own messages go to debug, cut short.
 */
import type { SocketModeClient } from '@slack/socket-mode';
import type { ActionLogger } from '../../types.ts';
import { assertCredentialTransport } from '../../token-transport.ts';

export interface SocketOptions {
  readonly appToken: string;
  /** Web API base (apps.connections.open). */
  readonly apiUrl: string;
  readonly log: ActionLogger;
  /** Called after the ack of each interactive envelope; must not throw (errors are logged). */
  readonly onClick: (body: unknown) => Promise<unknown>;
  /** The client's pong wait and reconnect step (ms). @defaultValue 5000 */
  readonly pingTimeoutMs?: number;
  /** Deadline of one connection attempt (ms). @defaultValue 30000 */
  readonly connectTimeoutMs?: number;
}

/** apps.connections.open errors no retry fixes: the token is wrong or not an app token. */
const FATAL = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'not_allowed_token_type']);
/** Longest wait between two connection attempts. */
const MAX_BACKOFF_MS = 60_000;

/**
 * One Socket Mode link. The SDK's own reconnect is off: a failed apps.connections.open during its reconnect would
 * end as an unhandled rejection; here every attempt is awaited, retried with a doubling delay (up to a minute),
 * and a refused token stops the link with its fix in the log.
 */
export class SlackSocket {
  readonly #o: SocketOptions;
  #client?: SocketModeClient;
  #make?: () => SocketModeClient;
  readonly #inflight = new Set<Promise<unknown>>();
  #stopped = false;
  #connecting = false;
  #wake?: () => void;
  /** Connections made (the first and each reconnect). */
  connects = 0;
  /** Set when the link gave up (a refused token). */
  failed?: string;

  constructor(o: SocketOptions) {
    assertCredentialTransport(o.apiUrl, 'slack.api_url');
    this.#o = o;
  }

  /** Starts connecting in the background (the engine never waits for Slack); reconnects until `stop`. */
  async start(): Promise<void> {
    const { SocketModeClient, LogLevel } = await import('@slack/socket-mode');
    const log = this.#o.log;
    const timeout = this.#o.connectTimeoutMs ?? 30_000;
    const quiet = {
      debug() {},
      info() {},
      warn(...m: unknown[]) {
        log.debug({ detail: String(m[0]).slice(0, 300) }, 'slack socket mode');
      },
      error(...m: unknown[]) {
        log.debug({ detail: String(m[0]).slice(0, 300) }, 'slack socket mode');
      },
      setLevel() {},
      getLevel: () => LogLevel.WARN,
      setName() {},
    };
    // A fresh client per attempt: one abandoned at its deadline is disconnected and its events no longer count.
    this.#make = () => {
      const client = new SocketModeClient({
        appToken: this.#o.appToken,
        logger: quiet,
        autoReconnectEnabled: false,
        clientPingTimeout: this.#o.pingTimeoutMs ?? 5000,
        clientOptions: { slackApiUrl: this.#o.apiUrl, retryConfig: { retries: 0 }, allowAbsoluteUrls: false, timeout },
      });
      client.on('connected', () => {
        if (client !== this.#client || this.#stopped) {
          void client.disconnect().catch(() => undefined);
          return;
        }
        this.connects += 1;
        log.info({ connects: this.connects }, 'slack socket mode connected');
      });
      client.on('disconnected', () => {
        if (client === this.#client && !this.#stopped && !this.#connecting) void this.#connect();
      });
      client.on('interactive', ({ ack, body }: { ack: () => Promise<void>; body: unknown }) =>
        this.#onInteractive(ack, body),
      );
      return client;
    };
    void this.#connect();
  }

  /** One attempt: a new client, connected within the deadline or abandoned (disconnected, its late start ignored). */
  async #attempt(): Promise<void> {
    const old = this.#client;
    const client = this.#make!();
    this.#client = client;
    if (old) void old.disconnect().catch(() => undefined);
    const ms = this.#o.connectTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const started = client.start();
    started.catch(() => undefined);
    try {
      await Promise.race([
        started,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no connection within ${ms} ms`)), ms);
        }),
      ]);
    } catch (err) {
      void client.disconnect().catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async #connect(): Promise<void> {
    if (!this.#make || this.#connecting) return;
    this.#connecting = true;
    try {
      for (let attempt = 0; !this.#stopped; attempt++) {
        try {
          await this.#attempt();
          return;
        } catch (err) {
          const code = String(
            (err as { data?: { error?: string } } | undefined)?.data?.error ??
              (err as Error | undefined)?.message ??
              'the connection closed',
          );
          if (FATAL.has(code)) {
            this.failed = code;
            this.#o.log.error(
              {
                err: code,
                hint: 'check SLACK_APP_TOKEN or slack.app_token_file (an xapp- token with connections:write) and that Socket Mode is on in the app',
              },
              'slack socket mode: the app token is refused; no buttons will work',
            );
            return;
          }
          const wait = Math.min(MAX_BACKOFF_MS, (this.#o.pingTimeoutMs ?? 1000) * 2 ** Math.min(attempt, 10));
          this.#o.log.warn({ err: code.slice(0, 300), retryInMs: wait }, 'slack socket mode: cannot connect');
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, wait);
            this.#wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
        }
      }
    } finally {
      this.#connecting = false;
    }
  }

  #onInteractive(ack: () => Promise<void>, body: unknown): void {
    const log = this.#o.log;
    const run = (async () => {
      try {
        await ack();
      } catch (err) {
        // Not acked: Slack sends it again (to this or another connection); the handler dedups.
        log.warn({ err: (err as Error)?.message }, 'slack socket mode: ack failed');
        return;
      }
      try {
        await this.#o.onClick(body);
      } catch (err) {
        log.error({ err: (err as Error)?.message }, 'slack socket mode: click handler failed');
      }
    })();
    this.#inflight.add(run);
    void run.finally(() => this.#inflight.delete(run));
  }

  /** Disconnects and waits for the clicks being handled. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#client?.disconnect().catch(() => undefined);
    await Promise.allSettled([...this.#inflight]);
  }
}

/**
 * The Socket Mode link: the official `@slack/socket-mode` client (apps.connections.open with the app token, then a
 * WebSocket), reconnecting by itself with a growing delay after a drop or a `disconnect`. Each `interactive`
 * envelope is acked at once (Slack wants it within 3 s; a click's work may take longer), then handed to `onClick`;
 * envelopes not acked before a drop are sent again by Slack, and the click handler acts on each click once. The
 * token never reaches a log: the SDK's own logger is kept to warnings without payloads.
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
}

/** One Socket Mode connection (and its reconnects). */
export class SlackSocket {
  readonly #o: SocketOptions;
  #client?: SocketModeClient;
  readonly #inflight = new Set<Promise<unknown>>();
  /** Connections made (the first and each reconnect). */
  connects = 0;

  constructor(o: SocketOptions) {
    assertCredentialTransport(o.apiUrl, 'slack.api_url');
    this.#o = o;
  }

  /** Connects (resolves at `hello`); a refused token rejects, naming the fix. */
  async start(): Promise<void> {
    const { SocketModeClient, LogLevel } = await import('@slack/socket-mode');
    const log = this.#o.log;
    const quiet = {
      debug() {},
      info() {},
      warn(...m: unknown[]) {
        log.warn({ detail: String(m[0]).slice(0, 300) }, 'slack socket mode');
      },
      error(...m: unknown[]) {
        log.warn({ detail: String(m[0]).slice(0, 300) }, 'slack socket mode');
      },
      setLevel() {},
      getLevel: () => LogLevel.WARN,
      setName() {},
    };
    const client = new SocketModeClient({
      appToken: this.#o.appToken,
      logger: quiet,
      clientPingTimeout: this.#o.pingTimeoutMs ?? 5000,
      clientOptions: { slackApiUrl: this.#o.apiUrl, retryConfig: { retries: 0 }, allowAbsoluteUrls: false },
    });
    this.#client = client;
    client.on('connected', () => {
      this.connects += 1;
      log.info({ connects: this.connects }, 'slack socket mode connected');
    });
    client.on('interactive', ({ ack, body }: { ack: () => Promise<void>; body: unknown }) => {
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
    });
    try {
      await client.start();
    } catch (err) {
      const code = (err as { data?: { error?: string } }).data?.error ?? (err as Error)?.message;
      throw new Error(
        `slack socket mode: cannot connect (${code}); check SLACK_APP_TOKEN or slack.app_token_file (an xapp- token with connections:write) and that Socket Mode is on in the app`,
      );
    }
  }

  /** Disconnects and waits for the clicks being handled. */
  async stop(): Promise<void> {
    await this.#client?.disconnect().catch(() => undefined);
    await Promise.allSettled([...this.#inflight]);
  }
}

/**
 * Slack interactivity on the network side: with an app token (SLACK_APP_TOKEN or slack.app_token_file) and a bot
 * token, a Socket Mode link whose clicks go to the click handler; without one, nothing (messages carry no buttons
 * and everything else works as before). A failure to connect is logged with its fix, never fatal: the SDK keeps
 * reconnecting after a drop, and a refused token is reported once.
 */
import { parseDuration, slackToken, type Config } from '../../../config.ts';
import type { SilenceService } from '../../../rules/silence-service.ts';
import type { ActionJobInput, ActionLogger, ActionStore } from '../../types.ts';
import { SlackClient } from '../client.ts';
import { slackAppToken } from '../settings/interactive.ts';
import { Allowlist } from './authorize.ts';
import { SlackCaptures, type CaptureChannel, type RequestedReport } from './capture.ts';
import { handleClick, handleForwarded, withGroup, type ClickResult } from './clicks.ts';
import { bundlesDirOf } from '../../bundle-file.ts';
import { uploadBundle } from '../upload.ts';
import { messageKey } from '../render-group.ts';
import type { MessageRef } from '../transport.ts';
import { offerCaptures } from './enabled.ts';
import { SlackSocket } from './socket.ts';
import { SilenceSync } from './silence-sync.ts';
import { Mailbox } from './mailbox.ts';
import type { Click } from './payload.ts';

export interface InteractivityOptions {
  readonly config: Readonly<Config>;
  readonly env: NodeJS.ProcessEnv;
  readonly log: ActionLogger;
  readonly store: ActionStore;
  readonly silences: SilenceService;
  readonly enqueue: (input: ActionJobInput) => Promise<unknown>;
  /** The probe side's capture requests; absent: no Capture again / Extend buttons. */
  readonly captures?: CaptureChannel;
  /** The current capture duration of a rule (ms): Capture again runs as long (else `capture.duration`). */
  readonly captureMsOf?: (rule: string) => number | undefined;
  /** Each handled click's result (tests and metrics). */
  readonly onClick?: (r: ClickResult) => void;
  readonly pingTimeoutMs?: number;
  /** How often this engine's click mailbox is read (ms). @defaultValue 1000 */
  readonly mailboxMs?: number;
  /** How often Slack silences of other engines are applied here (ms). @defaultValue 5000 */
  readonly silenceSyncMs?: number;
  readonly now?: () => number;
}

/** A running link. */
export interface Interactivity {
  readonly socket: SlackSocket;
  /** Hands a requested capture's report over (the network side's onRequested). */
  report(r: RequestedReport): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the link when an app token is set; undefined otherwise (or when it cannot start, said in the log). */
export async function startInteractivity(o: InteractivityOptions): Promise<Interactivity | undefined> {
  const { config: c, log } = o;
  let appToken: string | undefined;
  let botToken: string | undefined;
  try {
    appToken = slackAppToken(c.slack, o.env);
    botToken = slackToken(c, o.env);
  } catch (err) {
    log.error(
      {
        err: (err as Error).message,
        hint: 'make slack.app_token_file and slack.token_file readable by the network side',
      },
      'slack interactivity off: a token file cannot be read',
    );
    return undefined;
  }
  if (!appToken) return undefined;
  if (!botToken) {
    log.error(
      { hint: 'set SLACK_BOT_TOKEN or slack.token_file' },
      'slack interactivity off: an app token but no bot token',
    );
    return undefined;
  }
  const i = c.slack.interactivity;
  if (i.allowed_users.length === 0 && i.allowed_groups.length === 0)
    log.warn(
      { hint: 'list Slack user ids in slack.interactivity.allowed_users or group ids in allowed_groups' },
      'slack interactivity: nobody is allowed to click',
    );
  const web = new SlackClient({ token: botToken, apiUrl: c.slack.api_url });
  const allow = new Allowlist(
    { users: i.allowed_users, groups: i.allowed_groups, cacheMs: parseDuration(i.group_cache) },
    (g) => web.groupMembers(g),
  );
  offerCaptures(o.captures !== undefined);
  const silences = new SilenceSync(o.store, o.silences, log);
  const now = o.now ?? Date.now;
  const captures = o.captures
    ? new SlackCaptures(
        o.captures,
        o.captureMsOf ?? (() => undefined),
        async (thread: MessageRef, r: RequestedReport) => {
          const gid = await o.store.get(messageKey('slack', thread.channel, thread.ts));
          if (gid)
            await withGroup({ store: o.store, slack: web, now, captures }, 'slack', gid, thread, async (g) => {
              if (!g.controls?.captureRunning) return false;
              delete g.controls.captureRunning;
              return true;
            });
          if (r.bundle) {
            const up = await uploadBundle(
              web,
              o.store,
              thread,
              r.incident.key,
              r.bundle,
              undefined,
              'slack',
              bundlesDirOf(c),
            );
            const text = `:mag: Capture again done: bundle \`${r.bundle.id}\`${r.bundle.partial ? ' (partial)' : ''} (${up}).`;
            await web.post(
              thread.channel,
              { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] },
              thread.ts,
            );
          } else {
            const text = `:warning: Capture again failed: ${(r.captureError ?? 'no bundle').slice(0, 500)}`;
            await web.post(
              thread.channel,
              { text, blocks: [{ type: 'section', text: { type: 'plain_text', text } }] },
              thread.ts,
            );
          }
        },
      )
    : undefined;
  const mailbox = new Mailbox(o.store);
  const deps = {
    store: o.store,
    slack: web,
    allow,
    silences,
    enqueue: o.enqueue,
    log,
    now,
    host: c.host,
    captures,
    forward: (host: string, click: Click) =>
      mailbox.send(host, click).catch((err) => {
        log.warn({ host, err: (err as Error)?.message }, 'slack: a click could not be passed on');
        return false;
      }),
  };
  // Clicks other engines passed here (captures of this host's incidents).
  const poll = setInterval(() => {
    void mailbox
      .drain(c.host)
      .then(async (bodies) => {
        for (const b of bodies) o.onClick?.(await handleForwarded(b, deps));
      })
      .catch((err) => log.warn({ err: (err as Error)?.message }, 'slack: the click mailbox could not be read'));
  }, o.mailboxMs ?? 1000);
  poll.unref();
  const socket = new SlackSocket({
    appToken,
    apiUrl: c.slack.api_url,
    log,
    pingTimeoutMs: o.pingTimeoutMs,
    onClick: async (body) => o.onClick?.(await handleClick(body, deps)),
  });
  // Connects in the background: a Slack outage at start never holds the engine up.
  await socket.start();
  silences.start(o.silenceSyncMs);
  void silences.sync();
  return {
    socket,
    report: async (r) => {
      try {
        await captures?.report(r);
      } catch (err) {
        log.error({ err: (err as Error)?.message }, 'slack: posting a requested capture failed');
      }
    },
    stop: async () => {
      clearInterval(poll);
      silences.stop();
      await socket.stop();
    },
  };
}

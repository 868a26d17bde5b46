/**
 * What a click does, once the socket acked it: parse it, act once (a click Slack delivers twice, or to two engines
 * sharing one Redis, is taken by one set-if-absent on its name), check the person against the allowlist (others
 * get an ephemeral "not allowed"), then act — silence or unsilence for the fleet (silence-sync.ts), decide a scale
 * approval, ask for a capture — record it in the thread ("Silenced for 1 h by @alice") and update the message in
 * place so only the buttons that still apply show.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { ActionJobInput, ActionLogger, ActionStore } from '../../types.ts';
import type { SilenceSync } from './silence-sync.ts';
import type { Block, SlackMessage } from '../blocks.ts';
import type { GroupState } from '../group.ts';
import type { MessageRef } from '../transport.ts';
import { THREAD_TTL_MS } from '../threads.ts';
import { GroupLock } from '../group-lock.ts';
import { messageKey, renderGroup } from '../render-group.ts';
import { ACTION_IDS, SILENCE_CHOICES } from './controls.ts';
import { parseClick, parseForwarded, type Click } from './payload.ts';
import type { Allowlist } from './authorize.ts';
import { decide, readRequest } from '../../scale/approval.ts';
import type { CaptureRequests } from './capture.ts';

/** The Slack calls a click makes. */
export interface ClickSlack {
  post(channel: string, message: SlackMessage, threadTs?: string): Promise<MessageRef>;
  update(ref: MessageRef, message: SlackMessage): Promise<void>;
  postEphemeral(channel: string, user: string, text: string): Promise<void>;
}

export interface ClickDeps {
  readonly store: ActionStore;
  readonly slack: ClickSlack;
  readonly allow: Allowlist;
  /** Silences for the whole fleet (each engine applies them to its probe side). */
  readonly silences: SilenceSync;
  /** Queues an action job (a decided approval's `decide` job). */
  readonly enqueue: (input: ActionJobInput) => Promise<unknown>;
  readonly log: ActionLogger;
  readonly now: () => number;
  /** This engine's name (recorded as the click's handler). */
  readonly host: string;
  /** Capture requests to the probe side; absent: Capture again / Extend answer that this engine cannot. */
  readonly captures?: CaptureRequests;
  /**
   * Passes a parsed click to the engine of another host (a capture of its incident); false when it cannot (the
   * click is then refused, never captured here); absent: refused here.
   */
  readonly forward?: (host: string, click: Click) => Promise<boolean>;
  /** Store namespace of the Slack action's groups. @defaultValue slack */
  readonly ns?: string;
}

/** What became of a click (for logs and tests). */
export type ClickResult =
  | 'ignored'
  | 'duplicate'
  | 'not-allowed'
  | 'no-message'
  | 'silenced'
  | 'unsilenced'
  | 'approved'
  | 'rejected'
  | 'already-decided'
  | 'captured'
  | 'extended'
  | 'unavailable'
  | 'forwarded'
  | 'failed';

/** How long a click's name is kept (Slack retries within minutes). */
const CLICK_TTL_MS = 86_400_000;
/** Firing series one Silence click silences (one silence each). */
const MAX_SILENCED_SERIES = 20;

/** What a forwarded click may do: only a capture runs on the incident's host, the rest acts from any engine. */
const FORWARDABLE: ReadonlySet<string> = new Set([ACTION_IDS.capture, ACTION_IDS.extend]);

/** Handles one interactive payload from the socket. Never throws: failures are logged and told to the person. */
export async function handleClick(body: unknown, d: ClickDeps): Promise<ClickResult> {
  const parsed = parseClick(body);
  if ('ignored' in parsed) {
    d.log.debug({ reason: parsed.ignored }, 'slack: interactive payload ignored');
    return 'ignored';
  }
  return handleParsed(parsed.click, d, false);
}

/**
 * Handles a click another engine passed here through the store (this host runs the incident's capture). The store
 * is trusted no more than Slack: the click is parsed again, may only be Capture again / Extend, acts once (its own
 * claim, so a replayed entry does nothing) and its user is checked against the allowlist again.
 */
export async function handleForwarded(raw: unknown, d: ClickDeps): Promise<ClickResult> {
  const parsed = parseForwarded(raw);
  if ('ignored' in parsed) {
    d.log.warn({ reason: parsed.ignored }, 'slack: a forwarded click was refused');
    return 'ignored';
  }
  if (!FORWARDABLE.has(parsed.click.actionId)) {
    d.log.warn({ action: parsed.click.actionId.slice(0, 64) }, 'slack: a forwarded click was refused (not a capture)');
    return 'ignored';
  }
  return handleParsed(parsed.click, d, true);
}

async function handleParsed(c: Click, d: ClickDeps, forwarded: boolean): Promise<ClickResult> {
  const name = createHash('sha256')
    .update(JSON.stringify([c.channel, c.messageTs, c.actionId, c.actionTs, c.user]))
    .digest('hex')
    .slice(0, 32);
  const claim = forwarded ? `slack:forwarded:${name}` : `slack:click:${name}`;
  if (!(await d.store.setIfAbsent(claim, d.host, CLICK_TTL_MS))) return 'duplicate';
  try {
    const allowed = await d.allow.allows(c.user);
    if (!allowed.ok) {
      if (allowed.error) d.log.warn({ err: allowed.error }, 'slack: a user group could not be read');
      d.log.info({ user: c.user, action: c.actionId }, 'slack: click refused (not on the allowlist)');
      await d.slack.postEphemeral(
        c.channel,
        c.user,
        'You are not allowed to act on tripline incidents. Ask to be added to slack.interactivity.allowed_users or an allowed user group.',
      );
      return 'not-allowed';
    }
    return await act(c, d, forwarded);
  } catch (err) {
    d.log.error({ action: c.actionId, err: (err as Error)?.message }, 'slack: click failed');
    await d.slack
      .postEphemeral(
        c.channel,
        c.user,
        `tripline could not do that: ${(err as Error)?.message ?? 'error'}`.slice(0, 500),
      )
      .catch(() => undefined);
    return 'failed';
  }
}

async function act(c: Click, d: ClickDeps, forwarded: boolean): Promise<ClickResult> {
  const ns = d.ns ?? 'slack';
  const gid = await d.store.get(messageKey(ns, c.channel, c.messageTs));
  if (!gid) {
    await d.slack.postEphemeral(c.channel, c.user, 'tripline no longer knows this message (older than 7 days?).');
    return 'no-message';
  }
  // The click may come from the parent or from a reply of its thread (Unsilence on the silence's message).
  const g0 = await d.store.get(`${ns}:group:${gid}`);
  const parent: MessageRef = (g0 && (JSON.parse(g0) as GroupState).parent) || { channel: c.channel, ts: c.messageTs };
  const who = `<@${c.user}>`;
  switch (c.actionId) {
    case ACTION_IDS.silence:
    case ACTION_IDS.silenceFor: {
      const ms = SILENCE_CHOICES.get(c.value);
      if (ms === undefined) {
        await d.slack.postEphemeral(c.channel, c.user, 'Unknown silence duration: choose 1 h, 4 h or 24 h.');
        return 'ignored';
      }
      const label = `${ms / 3600_000} h`;
      const done = await withGroup(d, ns, gid, parent, async (g) => {
        if (g.controls?.silence) return false;
        const firing = Object.values(g.series)
          .filter((i) => i.status === 'firing')
          .slice(0, MAX_SILENCED_SERIES);
        const now = d.now();
        const ids: string[] = [];
        for (const i of firing)
          ids.push(
            await d.silences.publish({
              matchers: { ...i.labels, rule: i.rule },
              starts_at: new Date(now).toISOString(),
              ends_at: new Date(now + ms).toISOString(),
              author: `slack:${c.userName}`,
              comment: `Silenced from Slack by ${c.userName} (${c.user}) on incident ${i.id.slice(0, 200)}`,
            }),
          );
        (g.controls ??= {}).silence = { ids, until: now + ms, by: c.user };
        return true;
      });
      if (!done) {
        await d.slack.postEphemeral(c.channel, c.user, 'Already silenced from Slack.');
        return 'duplicate';
      }
      await d.silences.sync();
      const r = await reply(d, parent, `:mute: Silenced for ${label} by ${who}.`, [
        {
          type: 'actions',
          block_id: 'tl_silence_reply',
          elements: [
            {
              type: 'button',
              text: { type: 'plain_text', text: 'Unsilence' },
              action_id: ACTION_IDS.unsilence,
              value: 'unsilence',
            },
          ],
        },
      ]);
      await d.store.set(messageKey(ns, r.channel, r.ts), gid, THREAD_TTL_MS);
      return 'silenced';
    }
    case ACTION_IDS.unsilence: {
      const done = await withGroup(d, ns, gid, parent, async (g) => {
        const s = g.controls?.silence;
        if (!s) return false;
        await d.silences.unpublish(s.ids);
        delete g.controls!.silence;
        return true;
      });
      if (!done) {
        await d.slack.postEphemeral(c.channel, c.user, 'Not silenced from Slack any more: nothing to unsilence.');
        return 'duplicate';
      }
      await d.silences.sync();
      await reply(d, parent, `:loud_sound: Unsilenced by ${who}.`);
      return 'unsilenced';
    }
    case ACTION_IDS.approve:
    case ACTION_IDS.reject: {
      // Only an approval this very message waits for: a button value naming another message's approval is refused.
      const own = g0 ? (JSON.parse(g0) as GroupState).controls?.approvals : undefined;
      const mine = own && Object.hasOwn(own, c.value) ? own[c.value] : undefined;
      if (!mine) {
        d.log.warn({ user: c.user, ref: c.value.slice(0, 200) }, 'slack: approval click for another message refused');
        await d.slack.postEphemeral(c.channel, c.user, 'This message does not wait for that scale approval.');
        return 'not-allowed';
      }
      if (mine.state !== 'pending') {
        const by = mine.by ? ` by <@${mine.by}>` : '';
        await d.slack.postEphemeral(c.channel, c.user, `This scale was already decided: ${mine.state}${by}.`);
        return 'already-decided';
      }
      const req = await readRequest(d.store, c.value);
      if (!req) {
        await d.slack.postEphemeral(c.channel, c.user, 'This scale approval is unknown or expired.');
        return 'already-decided';
      }
      const decision = c.actionId === ACTION_IDS.approve ? 'approved' : 'rejected';
      // Past the deadline the deadline decides (expired), never a late click.
      const r =
        d.now() < req.deadline
          ? await decide(d.store, c.value, { decision, by: c.user, byName: c.userName, at: d.now() })
          : await decide(d.store, c.value, { decision: 'expired', at: req.deadline });
      if (!r.won || r.decision.decision !== decision) {
        const by = r.decision.by ? ` by <@${r.decision.by}>` : '';
        await d.slack.postEphemeral(c.channel, c.user, `This scale was already decided: ${r.decision.decision}${by}.`);
        return 'already-decided';
      }
      // The seq names the trip: a later trip of the same series gets its own job id.
      await d.enqueue({ ...req.job, seq: `${req.job.incident.id}-click` });
      await withGroup(d, ns, gid, parent, async (g) => {
        const a = g.controls?.approvals?.[c.value];
        if (a) Object.assign(a, { state: decision, by: c.user });
        return true;
      });
      await reply(
        d,
        parent,
        decision === 'approved'
          ? `:white_check_mark: Scale approved by ${who}.`
          : `:x: Scale rejected by ${who}: no scale.`,
      );
      return decision;
    }
    case ACTION_IDS.capture:
    case ACTION_IDS.extend: {
      if (!d.captures) {
        await d.slack.postEphemeral(c.channel, c.user, 'This engine cannot take capture requests from Slack.');
        return 'unavailable';
      }
      const raw = await d.store.get(`${ns}:group:${gid}`);
      const g = raw ? (JSON.parse(raw) as GroupState) : undefined;
      const incident = g && Object.values(g.series).find((i) => i.status === 'firing');
      if (!incident) {
        await d.slack.postEphemeral(c.channel, c.user, 'Nothing fires here any more: no capture.');
        return 'unavailable';
      }
      // The capture runs where the incident is: a click another engine got goes to that host, or nowhere (never
      // a capture here of another host's target).
      if (incident.host !== d.host) {
        if (!forwarded && d.forward && (await d.forward(incident.host, c))) {
          await d.slack.postEphemeral(
            c.channel,
            c.user,
            `Passed to ${incident.host}, where this incident's capture runs.`,
          );
          return 'forwarded';
        }
        d.log.warn(
          { host: incident.host, action: c.actionId },
          'slack: a capture click for another host not passed on',
        );
        await d.slack.postEphemeral(
          c.channel,
          c.user,
          `No capture: this incident runs on ${incident.host}, and the click could not be passed to it (is its engine connected to the same Redis?).`,
        );
        return 'unavailable';
      }
      const extend = c.actionId === ACTION_IDS.extend;
      const text = extend
        ? await d.captures.extend(incident, c.userName)
        : await d.captures.request(incident, c.userName, parent, `${c.channel}:${c.messageTs}:${c.actionTs}`);
      if (!extend)
        await withGroup(d, ns, gid, parent, async (gs) => {
          (gs.controls ??= {}).captureRunning = true;
          return true;
        });
      await reply(d, parent, `:mag: ${text} (by ${who})`);
      return extend ? 'extended' : 'captured';
    }
    default:
      return 'ignored';
  }
}

/** Changes the group under its lock and re-renders the parent when `fn` says it changed something. */
export async function withGroup(
  d: Pick<ClickDeps, 'store' | 'slack' | 'now' | 'captures'>,
  ns: string,
  gid: string,
  parent: MessageRef,
  fn: (g: GroupState) => Promise<boolean>,
): Promise<boolean> {
  const lock = await GroupLock.take(d.store, `${ns}:lock:${gid}`, `click-${randomUUID()}`, {
    maxTries: 100,
    aborted: () => false,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  });
  try {
    const key = `${ns}:group:${gid}`;
    const raw = await d.store.get(key);
    if (!raw) return false;
    const g = JSON.parse(raw) as GroupState;
    if (!(await fn(g))) return false;
    g.version += 1;
    g.rendered = g.version;
    g.renderedAt = d.now();
    await d.store.set(key, JSON.stringify(g), THREAD_TTL_MS);
    await d.slack.update(parent, renderGroup(g, d.now(), { on: true, capture: d.captures !== undefined }));
    return true;
  } finally {
    await lock.release();
  }
}

/** A line in the thread, with mentions of validated user ids only. */
async function reply(d: ClickDeps, parent: MessageRef, text: string, extra: Block[] = []): Promise<MessageRef> {
  return d.slack.post(
    parent.channel,
    { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }, ...extra] },
    parent.ts,
  );
}

/**
 * The Slack action: one grouped incident message per rule and channel, its updates in the same thread, the
 * bundle uploaded into that thread, scale and verification results as replies, and the parent updated to show
 * the state. Without a token (or on a dry run) the same calls go to the file sink.
 *
 * Waiting (group_wait, group_interval, the channel's ~1 message/s, another host holding the group) is done by
 * throwing RateLimitedError: the queue parks the job that long without spending an attempt, so no worker sleeps.
 */
import { parseDuration, slackToken } from '../../config.ts';
import type { Config } from '../../config.ts';
import { TriplineError } from '../../errors.ts';
import type { SlackActionSpec } from '../../rules/types.ts';
import { RateLimitedError, RetryableError, UnrecoverableError } from '../errors.ts';
import type { Action, ActionContext, ActionJob, ActionOutcome } from '../types.ts';
import { renderIncidentMessage, renderNoteReply } from './blocks.ts';
import type { IncidentNote } from './blocks.ts';
import { SlackClient } from './client.ts';
import { FileSink } from './file-sink.ts';
import { addNote, groupId, groupIncidents, isExpired, mergeIncident, newGroup, nextRenderAt } from './group.ts';
import type { GroupState, GroupTiming } from './group.ts';
import { Threads, THREAD_TTL_MS } from './threads.ts';
import type { SlackTransport } from './transport.ts';
import { uploadBundle } from './upload.ts';

/** Options of the Slack action; the defaults suit production, tests shorten the waits. */
export interface SlackActionOptions {
  /** Minimum spacing of messages to one channel (Slack allows about one per second). @defaultValue 1000 */
  readonly channelSpacingMs?: number;
  /** Builds the transport; the default picks the Web API with a token, the file sink without (or on a dry run). */
  readonly transport?: (config: Readonly<Config>, env: NodeJS.ProcessEnv, dryRun: boolean) => SlackTransport;
}

/** How long the group lock is held at most (a crashed holder frees it after this). */
const LOCK_TTL_MS = 30_000;
/** How long a job waits for a busy group lock before trying again. */
const LOCK_RETRY_MS = 250;

/** The default transport choice: Web API when a token is set and this is not a dry run; the file sink otherwise. */
export function defaultTransport(config: Readonly<Config>, env: NodeJS.ProcessEnv, dryRun: boolean): SlackTransport {
  const token = dryRun ? undefined : slackToken(config, env);
  if (!token) return new FileSink(FileSink.dirFor(config));
  return new SlackClient({ token, apiUrl: config.slack.api_url });
}

/** Builds the Slack action. */
export function createSlackAction(opts: SlackActionOptions = {}): Action<SlackActionSpec> {
  const spacingMs = opts.channelSpacingMs ?? 1000;
  const makeTransport = opts.transport ?? defaultTransport;

  return {
    type: 'slack',
    check(spec, config, env) {
      if (!spec.channel && !config.slack.channel) {
        throw new TriplineError('ACTION_ERR_CONFIG', 'slack action without a channel', { hint: 'set SLACK_CHANNEL, slack.channel in the config, or channel: in the rule\'s slack action' });
      }
      try { slackToken(config, env); } catch (cause) {
        throw new TriplineError('ACTION_ERR_CONFIG', `cannot read slack.token_file ${config.slack.token_file}: ${(cause as Error).message}`, { hint: 'point slack.token_file (SLACK_BOT_TOKEN_FILE) at a readable file', cause });
      }
    },

    async execute(job: ActionJob<SlackActionSpec>, ctx: ActionContext): Promise<ActionOutcome> {
      const channel = job.spec.channel ?? ctx.config.slack.channel;
      if (!channel) throw new UnrecoverableError('slack: no channel', { reason: 'no_channel', hint: 'set SLACK_CHANNEL or the rule\'s slack channel' });
      const threads = new Threads(ctx.store);
      if (await threads.marker(job.id, 'job')) return { status: 'skipped', summary: `job ${job.id} was already delivered` };
      let transport: SlackTransport;
      try { transport = makeTransport(ctx.config, ctx.env, job.dryRun === true); } catch (cause) {
        throw new UnrecoverableError(`slack: cannot set up the client: ${(cause as Error).message}`, { reason: 'config', cause });
      }
      const timing: GroupTiming = {
        waitMs: parseDuration(ctx.config.slack.group_wait),
        intervalMs: parseDuration(ctx.config.slack.group_interval),
        repeatMs: parseDuration(ctx.config.slack.repeat_interval),
      };
      const run = new Delivery(job, ctx, transport, threads, channel, timing, spacingMs);
      const outcome = await run.deliver();
      await threads.mark(job.id, 'job');
      return outcome;
    },
  };
}

/** The Slack action with production defaults (the registry's entry). */
export const slackAction: Action<SlackActionSpec> = createSlackAction();

/** One execution of one job. */
class Delivery {
  readonly job: ActionJob<SlackActionSpec>;
  readonly ctx: ActionContext;
  readonly transport: SlackTransport;
  readonly threads: Threads;
  readonly channel: string;
  readonly timing: GroupTiming;
  readonly spacingMs: number;
  readonly gid: string;

  constructor(job: ActionJob<SlackActionSpec>, ctx: ActionContext, transport: SlackTransport, threads: Threads, channel: string, timing: GroupTiming, spacingMs: number) {
    this.job = job; this.ctx = ctx; this.transport = transport; this.threads = threads;
    this.channel = channel; this.timing = timing; this.spacingMs = spacingMs;
    this.gid = groupId(job.incident, channel);
  }

  async deliver(): Promise<ActionOutcome> {
    const { event } = this.job;
    if (event === 'scaled' || event === 'verified') return this.#note();
    return this.#incident();
  }

  /** firing / update / resolved: merge into the group, post or refresh the parent when due, upload the bundle. */
  async #incident(): Promise<ActionOutcome> {
    const { incident, bundle } = this.job;
    const now = this.ctx.now();
    const { parent, change, rendered } = await this.#withGroup(async (g) => {
      const change = mergeIncident(g, incident, bundle);
      const urgent = incident.status === 'resolved';
      const at = nextRenderAt(g, now, this.timing, urgent, incident.test === true);
      if (at !== undefined && at > now) return { wait: at - now };
      const rendered = at !== undefined ? await this.#render(g) : false;
      return { result: { parent: g.parent, change, rendered } };
    });
    if (!parent) return { status: 'skipped', summary: `${incident.key}: waiting for its group's message` };
    const thread = { ...parent, group: this.gid };
    await this.threads.set(incident.key, thread);

    if (incident.status === 'resolved' && change === 'resolved') {
      await this.#replyOnce('resolved', renderNoteReply(incident, { kind: 'info', text: `Resolved after ${durationText(incident)}.`, at: incident.resolvedAt ?? new Date(now).toISOString() }), thread);
    }
    let uploaded = '';
    if (bundle) {
      await this.#spaceChannel();
      const r = await uploadBundle(this.transport, this.ctx.store, thread, incident.key, bundle);
      if (r === 'missing' || r === 'too-large') {
        await this.#replyOnce(`bundle-${r}`, renderNoteReply(incident, { kind: 'capture', text: `Bundle ${bundle.id} not uploaded (${r === 'missing' ? 'tarball not found' : 'too large'}); on the host: ${bundle.tarball}`, at: new Date(now).toISOString() }), thread);
      }
      uploaded = `, bundle ${r}`;
    }
    const what = rendered ? 'message posted/updated' : change === 'repeat' ? 'repeat counted' : 'no change';
    return { status: this.transport.kind === 'file' ? 'dry-run' : 'delivered', summary: `slack ${this.channel} ts ${parent.ts}: ${what}${uploaded}`, data: { channel: parent.channel, ts: parent.ts, transport: this.transport.kind } };
  }

  /** scaled / verified: a reply in the incident's thread and the note on the parent. */
  async #note(): Promise<ActionOutcome> {
    const { incident, detail } = this.job;
    const kinds: readonly IncidentNote['kind'][] = ['capture', 'scaled', 'scale-skipped', 'scale-dry-run', 'recovered', 'not-recovered', 'info'];
    const kind = kinds.includes(detail?.kind as IncidentNote['kind']) ? detail!.kind as IncidentNote['kind'] : 'info';
    const note: IncidentNote = { kind, text: String(detail?.text ?? `${this.job.event}`), at: new Date(this.ctx.now()).toISOString() };
    const thread = await this.threads.get(incident.key);
    if (!thread) {
      // The parent may still be in its group wait: come back when it should be out.
      const raw = await this.ctx.store.get(`slack:group:${this.gid}`);
      const g = raw ? JSON.parse(raw) as GroupState : undefined;
      if (g && !g.parent) throw new RateLimitedError('slack: the incident\'s message is not posted yet', Math.max(1000, g.createdAt + this.timing.waitMs - this.ctx.now() + 1000), { reason: 'await_parent' });
      throw new RetryableError(`slack: no thread for ${incident.key} yet`, { reason: 'no_thread' });
    }
    await this.#replyOnce('note', renderNoteReply(incident, note), thread);
    await this.#withGroup(async (g) => {
      if (!g.parent || g.parent.ts !== thread.ts) return { result: undefined };
      if (!g.notes.some((n) => n.text === note.text && n.kind === note.kind)) addNote(g, note);
      if (g.rendered < g.version) await this.#render(g);
      return { result: undefined };
    });
    return { status: this.transport.kind === 'file' ? 'dry-run' : 'delivered', summary: `slack ${thread.channel} thread ${thread.ts}: ${note.kind}` };
  }

  /** Posts the parent (first time) or updates it; records the threads of every series. */
  async #render(g: GroupState): Promise<boolean> {
    await this.#spaceChannel();
    const now = this.ctx.now();
    const message = renderIncidentMessage({
      incidents: groupIncidents(g), bundle: g.bundle, notes: g.notes, mention: this.job.spec.mention, now,
      suppressed: g.suppressed > 0 ? { count: g.suppressed, windowMs: now - g.createdAt } : undefined,
    });
    if (!g.parent) {
      g.parent = await this.transport.post(this.channel, message);
      g.postedAt = now;
      for (const key of Object.keys(g.series)) await this.threads.set(key, { ...g.parent, group: g.id });
    } else {
      await this.transport.update(g.parent, message);
    }
    g.renderedAt = now;
    g.rendered = g.version;
    return true;
  }

  /** Runs `fn` on the group's state under a cross-host lock; `fn` returns a result or a time to wait. */
  async #withGroup<T>(fn: (g: GroupState) => Promise<{ result?: T; wait?: number }>): Promise<T> {
    const store = this.ctx.store;
    const lockKey = `slack:lock:${this.gid}`;
    if (!(await store.setIfAbsent(lockKey, this.job.id, LOCK_TTL_MS))) {
      throw new RateLimitedError('slack: another delivery holds this incident group', LOCK_RETRY_MS, { reason: 'group_busy' });
    }
    try {
      const key = `slack:group:${this.gid}`;
      const raw = await store.get(key);
      const now = this.ctx.now();
      let g = raw ? JSON.parse(raw) as GroupState : undefined;
      if (!g || (this.job.incident.status === 'firing' && isExpired(g, now, this.timing) && g.series[this.job.incident.key]?.id !== this.job.incident.id)) g = newGroup(this.gid, now);
      let out: { result?: T; wait?: number };
      try {
        out = await fn(g);
      } finally {
        // Save even when a Slack call failed: the parent's ts must not be lost once posted.
        await store.set(key, JSON.stringify(g), THREAD_TTL_MS);
      }
      if (out.wait !== undefined) throw new RateLimitedError(`slack: grouping, next message in ${out.wait}ms`, out.wait, { reason: 'grouping' });
      return out.result as T;
    } finally {
      await store.del(lockKey);
    }
  }

  /** Keeps messages to one channel at least `spacingMs` apart, across hosts; parks the job when too soon. */
  async #spaceChannel(): Promise<void> {
    if (this.spacingMs <= 0) return;
    if (!(await this.ctx.store.setIfAbsent(`slack:rate:${this.channel}`, '1', this.spacingMs))) {
      throw new RateLimitedError(`slack: coalescing messages to ${this.channel}`, this.spacingMs, { reason: 'channel_rate' });
    }
  }

  /** A thread reply posted at most once per job and step. */
  async #replyOnce(step: string, message: ReturnType<typeof renderNoteReply>, thread: { channel: string; ts: string }): Promise<void> {
    if (await this.threads.marker(this.job.id, step)) return;
    await this.#spaceChannel();
    const ref = await this.transport.post(thread.channel, message, thread.ts);
    await this.threads.mark(this.job.id, step, ref.ts);
  }
}

function durationText(i: { startsAt: string; resolvedAt?: string }): string {
  const ms = Date.parse(i.resolvedAt ?? '') - Date.parse(i.startsAt);
  if (!Number.isFinite(ms)) return 'an unknown time';
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s` : `${Math.round(s / 60)} min`;
}

/**
 * The Slack action: one grouped incident message per rule and channel, its updates in the same thread, the
 * bundle uploaded into that thread, scale and verification results as replies, and the parent updated to show
 * the state. Without a token (or on a dry run) the same calls go to the file sink.
 *
 * Waits are short and per job: the first post of a group waits out group_wait (the jobs of the group wait
 * together, whichever wakes first posts for all), the channel's ~1 message/s and a busy group lock are waited
 * in-process. RateLimitedError is kept for Slack's own 429: the queue then parks every Slack job, as it should.
 * Repeats within group_interval wait for nothing: they are counted and shown by the next update of the parent.
 */
import { parseDuration, slackToken } from '../../config.ts';
import type { Config } from '../../config.ts';
import { TriplineError } from '../../errors.ts';
import { slackDoc, slackSpec, type SlackActionSpec } from './spec.ts';
import { RetryableError, UnrecoverableError } from '../errors.ts';
import type { Action, ActionContext, ActionJob, ActionOutcome } from '../types.ts';
import { renderNoteReply } from './blocks.ts';
import { messageKey, renderGroup } from './render-group.ts';
import { interactiveOf } from './interactive/enabled.ts';
import { setApproval, type Interactive } from './interactive/controls.ts';
import { formatDuration } from './format.ts';
import type { IncidentNote } from './blocks.ts';
import { SlackClient } from './client.ts';
import { FileSink } from './file-sink.ts';
import { addNote, groupId, isExpired, mergeIncident, newGroup, nextRenderAt } from './group.ts';
import type { GroupState, GroupTiming } from './group.ts';
import { Threads, THREAD_TTL_MS } from './threads.ts';
import { GroupLock, LOCK_RETRY_MS } from './group-lock.ts';
import type { MessageRef, SlackTransport } from './transport.ts';
import { shareBundle, uploadBundle } from './upload.ts';
import { bundlesDirOf } from '../bundle-file.ts';

/** Options of the Slack action; the defaults suit production, tests shorten the waits. */
/** Channel name written into file-sink messages when none is configured (nothing is posted anywhere). */
export const FILE_SINK_CHANNEL = '#incidents';

export interface SlackActionOptions {
  /** Minimum spacing of messages to one channel (Slack allows about one per second). @defaultValue 1000 */
  readonly channelSpacingMs?: number;
  /** Builds the transport; the default picks the Web API with a token, the file sink without (or on a dry run). */
  readonly transport?: (config: Readonly<Config>, env: NodeJS.ProcessEnv, dryRun: boolean) => SlackTransport;
  /** Waits `ms` (aborted early by `signal`); tests pass one that moves a fake clock. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Tries for the group lock or a channel slot before giving the job back to the queue as retryable. */
const MAX_TRIES = 100;
/** Longest wait for the parent of a scale/verify note (group_wait plus a margin); longer, the queue retries later. */
const MAX_NOTE_WAIT_MS = 120_000;

/** A sleep that ends early when the engine stops. */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

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
  const sleep = opts.sleep ?? abortableSleep;

  return {
    type: 'slack',
    spec: slackSpec,
    doc: slackDoc,
    check(spec, config, env) {
      let token: string | undefined;
      try {
        token = slackToken(config, env);
      } catch (cause) {
        throw new TriplineError(
          'ACTION_ERR_CONFIG',
          `cannot read slack.token_file ${config.slack.token_file}: ${(cause as Error).message}`,
          { hint: 'point slack.token_file (SLACK_BOT_TOKEN_FILE) at a readable file', cause },
        );
      }
      // Without a token messages go to the file sink, which needs no channel (FILE_SINK_CHANNEL names it).
      if (token && !spec.channel && !config.slack.channel) {
        throw new TriplineError('ACTION_ERR_CONFIG', 'slack action without a channel', {
          hint: "set SLACK_CHANNEL, slack.channel in the config, or channel: in the rule's slack action",
        });
      }
    },

    async execute(job: ActionJob<SlackActionSpec>, ctx: ActionContext): Promise<ActionOutcome> {
      let transport: SlackTransport;
      try {
        transport = makeTransport(ctx.config, ctx.env, job.dryRun === true);
      } catch (cause) {
        throw new UnrecoverableError(`slack: cannot set up the client: ${(cause as Error).message}`, {
          reason: 'config',
          cause,
        });
      }
      const channel =
        job.spec.channel ?? ctx.config.slack.channel ?? (transport.kind === 'file' ? FILE_SINK_CHANNEL : undefined);
      if (!channel)
        throw new UnrecoverableError('slack: no channel', {
          reason: 'no_channel',
          hint: "set SLACK_CHANNEL or the rule's slack channel",
        });
      const threads = new Threads(ctx.store, transport.kind === 'file' ? 'slack-file' : 'slack');
      if (await threads.marker(job.id, 'job'))
        return { status: 'skipped', summary: `job ${job.id} was already delivered` };
      const timing: GroupTiming = {
        waitMs: parseDuration(ctx.config.slack.group_wait),
        intervalMs: parseDuration(ctx.config.slack.group_interval),
        repeatMs: parseDuration(ctx.config.slack.repeat_interval),
      };
      const run = new Delivery(job, ctx, transport, threads, channel, timing, spacingMs, sleep);
      run.interactive = interactiveOf(ctx.config, ctx.env, transport.kind);
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
  /** Buttons on the message (an app token is set and this is the Web API). */
  interactive: Interactive = { on: false, capture: false };
  /** The group lock this run holds (key and its token), once #withGroup took it. */
  #lock?: GroupLock;
  readonly sleep: (ms: number) => Promise<void>;

  constructor(
    job: ActionJob<SlackActionSpec>,
    ctx: ActionContext,
    transport: SlackTransport,
    threads: Threads,
    channel: string,
    timing: GroupTiming,
    spacingMs: number,
    sleep: (ms: number, signal: AbortSignal) => Promise<void>,
  ) {
    this.job = job;
    this.ctx = ctx;
    this.transport = transport;
    this.threads = threads;
    this.channel = channel;
    this.timing = timing;
    this.spacingMs = spacingMs;
    this.sleep = (ms) => sleep(ms, ctx.signal);
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
    let first: 'new' | 'repeat' | 'resolved' | 'same' | undefined;
    let out: { parent?: MessageRef; rendered: boolean };
    for (;;) {
      const step = await this.#withGroup(async (g) => {
        const now = this.ctx.now();
        const hadBundle = g.bundle !== undefined;
        const change = mergeIncident(g, incident, bundle);
        first ??= change;
        // New series, resolutions and a first bundle show at once (an update in place notifies nobody);
        // repeats wait for group_interval.
        const urgent = (first !== 'repeat' && first !== 'same') || (!hadBundle && g.bundle !== undefined);
        const at = nextRenderAt(g, now, this.timing, urgent, incident.test === true);
        if (at !== undefined && at > now && !g.parent) return { wait: at - now };
        const rendered = at !== undefined && at <= now ? await this.#render(g) : false;
        return { result: { parent: g.parent, rendered } };
      });
      if (step.wait === undefined) {
        out = step.result!;
        break;
      }
      // group_wait: every job of the group waits; the first to wake posts the message for all of them.
      if (this.ctx.signal.aborted)
        throw new RetryableError('slack: engine stopping during group_wait', { reason: 'stopping' });
      await this.sleep(step.wait);
    }
    const { parent, rendered } = out;
    const change = first;
    if (!parent) return { status: 'skipped', summary: `${incident.key}: waiting for its group's message` };
    const thread = { ...parent, group: this.gid };
    await this.threads.set(incident.key, thread);

    if (incident.status === 'resolved') {
      await this.#replyOnce(
        'resolved',
        renderNoteReply(incident, {
          kind: 'info',
          text: `Resolved after ${durationText(incident)}.`,
          at: incident.resolvedAt ?? new Date(this.ctx.now()).toISOString(),
        }),
        thread,
      );
    }
    const uploaded = bundle
      ? await shareBundle({
          incident,
          bundle,
          here: this.ctx.config.host,
          upload: () =>
            uploadBundle(
              this.transport,
              this.ctx.store,
              thread,
              incident.key,
              bundle,
              () => this.#spaceChannel(),
              this.threads.ns,
              bundlesDirOf(this.ctx.config),
            ),
          reply: (step, text) =>
            this.#replyOnce(
              step,
              renderNoteReply(incident, { kind: 'capture', text, at: new Date(this.ctx.now()).toISOString() }),
              thread,
            ),
        })
      : '';
    const what = rendered
      ? 'message posted/updated'
      : change === 'repeat'
        ? 'repeat counted, shown at the next update'
        : 'no change';
    return {
      status: this.transport.kind === 'file' ? 'dry-run' : 'delivered',
      summary: `slack ${this.channel} ts ${parent.ts}: ${what}${uploaded}`,
      data: { channel: parent.channel, ts: parent.ts, transport: this.transport.kind },
    };
  }

  /** scaled / verified: a reply in the incident's thread and the note on the parent. */
  async #note(): Promise<ActionOutcome> {
    const { incident, detail } = this.job;
    const kinds: readonly IncidentNote['kind'][] = [
      'capture',
      'scaled',
      'scale-skipped',
      'scale-dry-run',
      'recovered',
      'not-recovered',
      'approval',
      'info',
    ];
    const kind = kinds.includes(detail?.kind as IncidentNote['kind']) ? (detail!.kind as IncidentNote['kind']) : 'info';
    const note: IncidentNote = {
      kind,
      text: String(detail?.text ?? `${this.job.event}`),
      at: new Date(this.ctx.now()).toISOString(),
    };
    let thread = await this.threads.get(incident.key);
    for (let waited = 0; !thread;) {
      // The parent may still be in its group wait: wait for it (bounded), else let the queue retry later.
      const raw = await this.ctx.store.get(`${this.threads.ns}:group:${this.gid}`);
      const g = raw ? (JSON.parse(raw) as GroupState) : undefined;
      const due = g && !g.parent ? g.createdAt + this.timing.waitMs - this.ctx.now() : -1;
      if (due < 0 || waited > MAX_NOTE_WAIT_MS || this.ctx.signal.aborted)
        throw new RetryableError(`slack: no thread for ${incident.key} yet`, { reason: 'no_thread' });
      const ms = Math.max(LOCK_RETRY_MS, Math.min(due + LOCK_RETRY_MS, 5000));
      await this.sleep(ms);
      waited += ms;
      thread = await this.threads.get(incident.key);
    }
    await this.#replyOnce('note', renderNoteReply(incident, note), thread);
    const parentTs = thread.ts;
    await this.#withGroup(async (g) => {
      if (!g.parent || g.parent.ts !== parentTs) return { result: undefined };
      if (!g.notes.some((n) => n.text === note.text && n.kind === note.kind)) addNote(g, note);
      if (typeof detail?.approval === 'string') setApproval(g, detail.approval, note.text, detail.approval_state);
      if (g.rendered < g.version) await this.#render(g);
      return { result: undefined };
    });
    return {
      status: this.transport.kind === 'file' ? 'dry-run' : 'delivered',
      summary: `slack ${thread.channel} thread ${thread.ts}: ${note.kind}`,
    };
  }

  /** Posts the parent (first time) or updates it; records the threads of every series. */
  async #render(g: GroupState): Promise<boolean> {
    await this.#spaceChannel();
    const now = this.ctx.now();
    g.mention = this.job.spec.mention;
    const message = renderGroup(g, now, this.interactive);
    if (!g.parent) {
      await this.#lock?.check();
      g.parent = await this.transport.post(this.channel, message);
      g.postedAt = now;
      await this.ctx.store.set(messageKey(this.threads.ns, g.parent.channel, g.parent.ts), g.id, THREAD_TTL_MS);
      for (const key of Object.keys(g.series)) await this.threads.set(key, { ...g.parent, group: g.id });
    } else {
      await this.transport.update(g.parent, message);
    }
    g.renderedAt = now;
    g.rendered = g.version;
    return true;
  }

  /** Runs `fn` on the group's state under a cross-host lock (waited for); `fn` returns a result or a time to wait. */
  async #withGroup<T>(
    fn: (g: GroupState) => Promise<{ result?: T; wait?: number }>,
  ): Promise<{ result?: T; wait?: number }> {
    const store = this.ctx.store;
    this.#lock = await GroupLock.take(store, `${this.threads.ns}:lock:${this.gid}`, this.job.id, {
      maxTries: MAX_TRIES,
      aborted: () => this.ctx.signal.aborted,
      sleep: this.sleep,
    });
    try {
      const key = `${this.threads.ns}:group:${this.gid}`;
      const raw = await store.get(key);
      const now = this.ctx.now();
      let g = raw ? (JSON.parse(raw) as GroupState) : undefined;
      if (
        !g ||
        (this.job.incident.status === 'firing' &&
          isExpired(g, now, this.timing) &&
          g.series[this.job.incident.key]?.id !== this.job.incident.id)
      )
        g = newGroup(this.gid, now);
      try {
        return await fn(g);
      } finally {
        // Save even when a Slack call failed: the parent's ts must not be lost once posted.
        await store.set(key, JSON.stringify(g), THREAD_TTL_MS);
      }
    } finally {
      await this.#lock.release();
    }
  }

  /** Keeps messages to one channel at least `spacingMs` apart, across hosts, by waiting for the channel's slot. */
  async #spaceChannel(): Promise<void> {
    // The file sink has no rate limit to respect.
    if (this.spacingMs <= 0 || this.transport.kind === 'file') return;
    for (
      let tries = 0;
      !(await this.ctx.store.setIfAbsent(`slack:rate:${this.channel}`, '1', this.spacingMs));
      tries++
    ) {
      if (tries >= MAX_TRIES || this.ctx.signal.aborted)
        throw new RetryableError(`slack: no free slot for ${this.channel}`, { reason: 'channel_rate' });
      await this.sleep(Math.max(10, Math.ceil(this.spacingMs / 4)));
    }
  }

  /** A thread reply posted at most once per job and step. */
  async #replyOnce(
    step: string,
    message: ReturnType<typeof renderNoteReply>,
    thread: { channel: string; ts: string },
  ): Promise<void> {
    if (await this.threads.marker(this.job.id, step)) return;
    await this.#spaceChannel();
    const ref = await this.transport.post(thread.channel, message, thread.ts);
    await this.threads.mark(this.job.id, step, ref.ts);
  }
}

function durationText(i: { startsAt: string; resolvedAt?: string }): string {
  const ms = Date.parse(i.resolvedAt ?? '') - Date.parse(i.startsAt);
  return Number.isFinite(ms) ? formatDuration(ms) : 'an unknown time';
}

/**
 * The Slack Web API transport: `@slack/web-api`'s WebClient pointed at `slack.api_url`, with its own retries and
 * rate-limit waits turned off, so the queue is the one layer that retries (a 429 parks the job for Retry-After).
 * Errors are mapped to the three action error classes; the token never appears in them.
 */
import { assertCredentialTransport, isLoopbackHost } from '../token-transport.ts';
// Types only: the SDK (and its HTTP stack) is loaded at the first call, so a process that never talks to Slack
// never pays its memory.
import type {
  Logger,
  LogLevel,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
} from '@slack/web-api';
import { RateLimitedError, RetryableError, UnrecoverableError, parseRetryAfter } from '../errors.ts';
import type { SlackMessage } from './blocks.ts';
import type { MessageRef, PendingUpload, SlackTransport } from './transport.ts';

/** Slack `error` values that retrying cannot fix: bad token, missing channel or scope, rejected payload. */
const PERMANENT = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'invalid_blocks',
  'invalid_blocks_format',
  'msg_too_long',
  'message_not_found',
  'cant_update_message',
  'edit_window_closed',
  'invalid_arguments',
  'file_not_found',
  'restricted_action',
]);
/** Slack `error` values that mean "try again later". */
const TRANSIENT = new Set([
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'ratelimited',
  'team_added_to_org',
]);

/** Per-call timeout: a hung Slack call fails as retryable instead of holding a worker. */
const TIMEOUT_MS = 15_000;

/** Options of the Web API transport. */
export interface SlackClientOptions {
  readonly token: string;
  /** Base URL of the Web API, e.g. `https://slack.com/api/` or a local server in tests. */
  readonly apiUrl: string;
  readonly timeoutMs?: number;
}

/** Maps anything the WebClient (or the upload fetch) throws to RetryableError, UnrecoverableError or RateLimitedError. */
export function mapSlackError(err: unknown, call: string): Error {
  if (err instanceof RateLimitedError || err instanceof RetryableError || err instanceof UnrecoverableError) return err;
  // The SDK's error classes, told apart by their documented `code` (ErrorCode), not by class identity.
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'slack_webapi_rate_limited_error') {
    const { retryAfter } = err as WebAPIRateLimitedError;
    return new RateLimitedError(`slack ${call}: rate limited, retry after ${retryAfter}s`, retryAfter * 1000, {
      reason: 'http_429',
    });
  }
  if (code === 'slack_webapi_platform_error') {
    const e = err as WebAPIPlatformError;
    const code = String(e.data.error);
    if (code === 'ratelimited')
      return new RateLimitedError(
        `slack ${call}: ratelimited`,
        1000 * Number(e.data.response_metadata?.retryAfter ?? 1),
        { reason: 'ratelimited' },
      );
    if (TRANSIENT.has(code)) return new RetryableError(`slack ${call}: ${code}`, { reason: code });
    const hint =
      code === 'invalid_auth' || code === 'not_authed'
        ? 'check SLACK_BOT_TOKEN or slack.token_file'
        : code === 'channel_not_found' || code === 'not_in_channel'
          ? "check the channel (SLACK_CHANNEL or the rule's slack.channel) and invite the bot"
          : undefined;
    return new UnrecoverableError(`slack ${call}: ${code}`, {
      reason: PERMANENT.has(code) ? code : 'platform_error',
      hint,
      cause: err,
    });
  }
  if (code === 'slack_webapi_http_error') {
    const s = (err as WebAPIHTTPError).statusCode;
    if (s >= 500 || s === 408) return new RetryableError(`slack ${call}: HTTP ${s}`, { reason: `http_${s}` });
    return new UnrecoverableError(`slack ${call}: HTTP ${s}`, { reason: `http_${s}` });
  }
  if (code === 'slack_webapi_request_error')
    return new RetryableError(`slack ${call}: ${(err as WebAPIRequestError).original.message}`, { reason: 'network' });
  return new RetryableError(`slack ${call}: ${(err as Error)?.message ?? String(err)}`, {
    reason: 'error',
    cause: err,
  });
}

/** A logger for the SDK that stays quiet: errors are reported by the queue, and request bodies have no place in logs. */
const QUIET: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  setLevel() {},
  getLevel: () => 'error' as LogLevel,
  setName() {},
};

/** The Web API transport. */
export class SlackClient implements SlackTransport {
  readonly kind = 'client' as const;
  readonly #timeoutMs: number;

  readonly #apiHost: string;

  constructor(opts: SlackClientOptions) {
    assertCredentialTransport(opts.apiUrl, 'slack.api_url');
    this.#apiHost = new URL(opts.apiUrl).host;
    this.#timeoutMs = opts.timeoutMs ?? TIMEOUT_MS;
    this.#token = opts.token;
    this.#apiUrl = opts.apiUrl;
  }

  readonly #token: string;
  readonly #apiUrl: string;
  #web: Promise<WebClient> | undefined;

  /** The SDK client, made at the first call. */
  #client(): Promise<WebClient> {
    this.#web ??= import('@slack/web-api').then(
      ({ WebClient }) =>
        new WebClient(this.#token, {
          slackApiUrl: this.#apiUrl,
          // One layer retries: the queue. The SDK's default would retry ten times over ~30 minutes.
          retryConfig: { retries: 0 },
          rejectRateLimitedCalls: true,
          timeout: this.#timeoutMs,
          logger: QUIET,
          // Only method names are resolved against slackApiUrl; no absolute URLs from data.
          allowAbsoluteUrls: false,
        }),
    );
    return this.#web;
  }

  /** auth.test: checks the token (used by `tripline doctor` and at start). */
  async authTest(): Promise<{ team?: string; user?: string }> {
    try {
      const web = await this.#client();
      const r = await web.auth.test();
      return { team: r.team, user: r.user };
    } catch (err) {
      throw mapSlackError(err, 'auth.test');
    }
  }

  async post(channel: string, message: SlackMessage, threadTs?: string): Promise<MessageRef> {
    try {
      const web = await this.#client();
      const r = await web.chat.postMessage({
        channel,
        text: message.text,
        blocks: message.blocks as never,
        thread_ts: threadTs,
        unfurl_links: false,
        unfurl_media: false,
      });
      if (!r.ts || !r.channel)
        throw new RetryableError('slack chat.postMessage: answer without ts', { reason: 'bad_answer' });
      return { channel: r.channel, ts: r.ts };
    } catch (err) {
      throw mapSlackError(err, 'chat.postMessage');
    }
  }

  async update(ref: MessageRef, message: SlackMessage): Promise<void> {
    try {
      const web = await this.#client();
      await web.chat.update({
        channel: ref.channel,
        ts: ref.ts,
        text: message.text,
        blocks: message.blocks as never,
      });
    } catch (err) {
      throw mapSlackError(err, 'chat.update');
    }
  }

  /** chat.postEphemeral: a message only `user` sees (e.g. "not allowed"). */
  async postEphemeral(channel: string, user: string, text: string): Promise<void> {
    try {
      const web = await this.#client();
      await web.chat.postEphemeral({ channel, user, text });
    } catch (err) {
      throw mapSlackError(err, 'chat.postEphemeral');
    }
  }

  /** usergroups.users.list: the user ids of a user group. */
  async groupMembers(group: string): Promise<string[]> {
    try {
      const web = await this.#client();
      const r = await web.usergroups.users.list({ usergroup: group });
      return (r.users ?? []).filter((u): u is string => typeof u === 'string').slice(0, 10_000);
    } catch (err) {
      throw mapSlackError(err, 'usergroups.users.list');
    }
  }

  async startUpload(filename: string, length: number): Promise<PendingUpload> {
    try {
      const web = await this.#client();
      const r = await web.files.getUploadURLExternal({ filename, length });
      if (!r.file_id || !r.upload_url)
        throw new RetryableError('slack files.getUploadURLExternal: answer without file_id', { reason: 'bad_answer' });
      return { fileId: r.file_id, uploadUrl: r.upload_url };
    } catch (err) {
      throw mapSlackError(err, 'files.getUploadURLExternal');
    }
  }

  /** Slack's file hosts (https, *.slack.com) or the configured API host (a local test server over loopback http). */
  isUploadUrl(url: string): boolean {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return false;
    }
    if (u.username || u.password) return false;
    if (u.host === this.#apiHost) return u.protocol === 'https:' || isLoopbackHost(u.hostname);
    return u.protocol === 'https:' && (u.hostname === 'slack.com' || u.hostname.endsWith('.slack.com'));
  }

  async sendBytes(upload: PendingUpload, file: string, bytes: Buffer): Promise<void> {
    if (!this.isUploadUrl(upload.uploadUrl))
      throw new UnrecoverableError(
        `slack upload: refusing to send a bundle to ${JSON.stringify(upload.uploadUrl.slice(0, 200))}`,
        {
          reason: 'upload_url_refused',
          hint: 'upload URLs must be https on slack.com (or the configured slack.api_url host)',
        },
      );
    let res: Response;
    try {
      res = await fetch(upload.uploadUrl, {
        method: 'POST',
        body: new Uint8Array(bytes),
        redirect: 'error',
        headers: { 'Content-Type': 'application/octet-stream', 'X-Filename': encodeURIComponent(file) },
        signal: AbortSignal.timeout(this.#timeoutMs * 4),
      });
    } catch (err) {
      throw new RetryableError(`slack upload: ${(err as Error).message}`, { reason: 'network' });
    }
    await res.arrayBuffer().catch(() => undefined);
    if (res.status === 429)
      throw new RateLimitedError('slack upload: rate limited', parseRetryAfter(res.headers.get('retry-after'), 1000), {
        reason: 'http_429',
      });
    if (res.status >= 500 || res.status === 408)
      throw new RetryableError(`slack upload: HTTP ${res.status}`, { reason: `http_${res.status}` });
    // A 4xx here usually means the upload URL expired; the caller starts over with a new one.
    if (res.status !== 200) throw new UploadUrlRejected(res.status);
  }

  async completeUpload(upload: PendingUpload, title: string, thread: MessageRef, comment: string): Promise<void> {
    try {
      const web = await this.#client();
      await web.files.completeUploadExternal({
        files: [{ id: upload.fileId, title }],
        channel_id: thread.channel,
        thread_ts: thread.ts,
        initial_comment: comment,
      });
    } catch (err) {
      throw mapSlackError(err, 'files.completeUploadExternal');
    }
  }
}

/** The upload URL refused the bytes with a 4xx: retryable, from step 1 with a fresh URL. */
export class UploadUrlRejected extends RetryableError {
  constructor(status: number) {
    super(`slack upload: HTTP ${status} from the upload URL`, { reason: `upload_http_${status}` });
    this.name = 'UploadUrlRejected';
  }
}

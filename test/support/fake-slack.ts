/**
 * A local HTTP server that speaks the parts of the Slack Web API tripline uses (auth.test, chat.postMessage,
 * chat.update, chat.postEphemeral, usergroups.users.list, apps.connections.open (Socket Mode, with the app token;
 * see fake-socket-mode.ts), files.getUploadURLExternal, the upload URL, files.completeUploadExternal). It records every
 * request, keeps the posted messages and files, and fails on demand (429 with Retry-After, 500, invalid_auth, no answer),
 * so the real `@slack/web-api` client can be tested against it.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the server received. `params` are the decoded form/JSON fields (`blocks` parsed). */
export interface SlackRequest {
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly authorization?: string;
  readonly bytes: number;
  readonly at: number;
}

/** A message as the fake keeps it. */
export interface FakeMessage {
  readonly channel: string;
  readonly ts: string;
  readonly threadTs?: string;
  text: string;
  blocks: unknown[];
  updates: number;
}

/** A failure to serve instead of the normal answer, `times` times (`hang`: no answer at all, until stop). */
export type Failure = { status: 429; retryAfter: number } | { status: 500 } | { error: string } | { hang: true };

/** The fake server. */
export class FakeSlack {
  readonly requests: SlackRequest[] = [];
  readonly messages: FakeMessage[] = [];
  /** Uploaded files: id → bytes received, completed into which thread. */
  readonly files = new Map<
    string,
    { name: string; length: number; received?: number; channel?: string; threadTs?: string; completions: number }
  >();
  token = 'xoxb-test-token';
  /** App-level token apps.connections.open takes (Socket Mode). */
  appToken = 'xapp-test-token';
  /** Answers apps.connections.open with a WebSocket URL (set by the Socket Mode stand-in); unset: `not_allowed`. */
  connectionsOpen?: () => string;
  /** User groups for usergroups.users.list: group id → user ids. */
  readonly usergroups = new Map<string, string[]>();
  /** Ephemeral messages (chat.postEphemeral): seen by one user only. */
  readonly ephemerals: { channel: string; user: string; text: string }[] = [];
  url = '';
  #server?: Server;
  #seq = 0;
  readonly #failures: { method: string; failure: Failure; times: number }[] = [];

  /** Starts on a random loopback port; `url` is the Web API base (`http://127.0.0.1:PORT/api/`). */
  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      void this.#handle(req, res);
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/api/`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.#server) return;
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server!.close(() => resolve()));
  }

  /** The next `times` calls of `method` (e.g. `chat.postMessage`, `upload`) get `failure`. */
  fail(method: string, failure: Failure, times = 1): void {
    this.#failures.push({ method, failure, times });
  }

  /** Requests of one method. */
  calls(method: string): SlackRequest[] {
    return this.requests.filter((r) => r.method === method);
  }

  /** Top-level messages (not thread replies). */
  parents(): FakeMessage[] {
    return this.messages.filter((m) => !m.threadTs);
  }

  /** Replies in the thread of `ts`. */
  replies(ts: string): FakeMessage[] {
    return this.messages.filter((m) => m.threadTs === ts);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://x');
    const upload = /^\/upload\/(F\w+)$/.exec(url.pathname);
    const method = upload ? 'upload' : url.pathname.replace(/^\/api\//, '');
    const params = upload ? {} : parseParams(String(req.headers['content-type'] ?? ''), body);
    this.requests.push({
      method,
      params,
      authorization: req.headers.authorization,
      bytes: body.length,
      at: Date.now(),
    });

    const f = this.#failures.find((x) => x.method === method && x.times > 0);
    if (f) {
      f.times -= 1;
      if ('hang' in f.failure) return;
      if ('status' in f.failure && f.failure.status === 429)
        return send(res, 429, { ok: false, error: 'ratelimited' }, { 'Retry-After': String(f.failure.retryAfter) });
      if ('status' in f.failure) return send(res, 500, { ok: false, error: 'internal_error' });
      return send(res, 200, { ok: false, error: f.failure.error });
    }
    if (upload) {
      const file = this.files.get(upload[1]);
      if (!file) return send(res, 404, { ok: false });
      file.received = body.length;
      return send(res, 200, { ok: true });
    }
    if (method === 'apps.connections.open') {
      if (req.headers.authorization !== `Bearer ${this.appToken}`)
        return send(res, 200, { ok: false, error: 'invalid_auth' });
      const url = this.connectionsOpen?.();
      return send(res, 200, url ? { ok: true, url } : { ok: false, error: 'not_allowed_token_type' });
    }
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return send(res, 200, { ok: false, error: 'invalid_auth' });
    switch (method) {
      case 'auth.test':
        return send(res, 200, { ok: true, team: 'tripline-test', user: 'tripline' });
      case 'chat.postMessage': {
        const ts = this.#ts();
        const channel = String(params.channel);
        this.messages.push({
          channel,
          ts,
          threadTs: params.thread_ts as string | undefined,
          text: String(params.text ?? ''),
          blocks: (params.blocks as unknown[]) ?? [],
          updates: 0,
        });
        return send(res, 200, { ok: true, channel, ts });
      }
      case 'chat.update': {
        const m = this.messages.find((x) => x.channel === params.channel && x.ts === params.ts);
        if (!m) return send(res, 200, { ok: false, error: 'message_not_found' });
        m.text = String(params.text ?? '');
        m.blocks = (params.blocks as unknown[]) ?? [];
        m.updates += 1;
        return send(res, 200, { ok: true, channel: m.channel, ts: m.ts });
      }
      case 'chat.postEphemeral': {
        this.ephemerals.push({
          channel: String(params.channel),
          user: String(params.user),
          text: String(params.text ?? ''),
        });
        return send(res, 200, { ok: true, message_ts: this.#ts() });
      }
      case 'usergroups.users.list': {
        const users = this.usergroups.get(String(params.usergroup));
        return send(res, 200, users ? { ok: true, users } : { ok: false, error: 'no_such_subteam' });
      }
      case 'files.getUploadURLExternal': {
        const id = `F${String(++this.#seq).padStart(8, '0')}`;
        this.files.set(id, { name: String(params.filename), length: Number(params.length), completions: 0 });
        return send(res, 200, {
          ok: true,
          file_id: id,
          upload_url: `${this.url.replace(/\/api\/$/, '')}/upload/${id}`,
        });
      }
      case 'files.completeUploadExternal': {
        const list = (params.files as { id: string }[]) ?? [];
        for (const { id } of list) {
          const file = this.files.get(id);
          if (!file || file.received === undefined) return send(res, 200, { ok: false, error: 'file_not_found' });
          file.channel = String(params.channel_id);
          file.threadTs = params.thread_ts as string | undefined;
          file.completions += 1;
        }
        return send(res, 200, { ok: true, files: list.map((x) => ({ id: x.id })) });
      }
      default:
        return send(res, 200, { ok: false, error: 'unknown_method' });
    }
  }

  #ts(): string {
    const n = ++this.#seq;
    return `${Math.floor(Date.now() / 1000)}.${String(n).padStart(6, '0')}`;
  }
}

function parseParams(type: string, body: Buffer): Record<string, unknown> {
  let out: Record<string, unknown> = {};
  if (type.includes('application/json')) out = JSON.parse(body.toString('utf8') || '{}');
  else if (type.includes('application/x-www-form-urlencoded'))
    out = Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  for (const k of ['blocks', 'files', 'attachments']) {
    if (typeof out[k] === 'string') {
      try {
        out[k] = JSON.parse(out[k] as string);
      } catch {
        /* keep the string */
      }
    }
  }
  return out;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/**
 * The narrow channel between the probe side (capabilities, BPF) and the network side (no capabilities, HTTP,
 * Slack, Kubernetes, Redis): newline-delimited JSON over a Unix stream socket (an inherited socketpair on a host,
 * a socket in a shared volume between two containers). Each frame is bounded in size and each message is
 * validated on receipt with its type's schema (./messages.ts) before any handler sees it; a frame over the bound
 * or a message that does not validate is counted, reported and dropped, and a peer that keeps sending them is cut
 * off. Requests carry an id and get exactly one reply (or a timeout).
 */
import type { Socket } from 'node:net';
import type { z } from 'zod';
import { TriplineError } from '../errors.ts';

/** Largest frame accepted (a /metrics text at 1,000 cgroups is ~1 MB). */
export const MAX_FRAME_BYTES = 8 << 20;
/** Notifications held for a handler not registered yet (the peer may speak before this side is set up). */
const MAX_EARLY = 1000;
/** Invalid frames tolerated before the peer is cut off (a bug or a hostile peer, either way stop listening). */
const MAX_INVALID = 100;

/** Schemas of one side's inbound messages: type → payload schema. */
export type Schemas = Readonly<Record<string, z.ZodType>>;

type Payload<S extends Schemas, T extends keyof S> = z.output<S[T]>;

/** Frames on the wire. */
type Frame =
  | { readonly t: string; readonly p: unknown } // notification
  | { readonly t: string; readonly p: unknown; readonly id: number } // request
  | { readonly re: number; readonly ok: true; readonly p: unknown } // reply
  | { readonly re: number; readonly ok: false; readonly error: string }; // error reply

/** What a request handler returns (the reply payload) or throws (an error reply with its message). */
type Handler<P> = (payload: P) => unknown | Promise<unknown>;

export interface ChannelOptions<In extends Schemas, Out extends Schemas> {
  /** Schemas of what this side receives (validated on receipt). */
  readonly inbound: In;
  /** Schemas of what this side sends (validated before sending too: a bug shows up on its own side). */
  readonly outbound: Out;
  /** Reply schemas of the requests this side sends, by request type. */
  readonly replies: Readonly<Partial<Record<keyof Out, z.ZodType>>>;
  /** Called for each dropped frame, with the reason (log it; a metric counts them). */
  readonly onInvalid?: (reason: string) => void;
  /** @defaultValue 10 s */
  readonly requestTimeoutMs?: number;
}

/** One end of the channel. */
export class Channel<In extends Schemas, Out extends Schemas> {
  readonly #sock: Socket;
  readonly #opts: ChannelOptions<In, Out>;
  readonly #handlers = new Map<string, Handler<unknown>>();
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  #nextId = 1;
  #buf: Buffer[] = [];
  #bufBytes = 0;
  #invalid = 0;
  #closed = false;
  /** Valid notifications received before any handler of their type (bounded). */
  #early: { type: string; payload: unknown }[] = [];
  readonly #closeWaiters: ((why: string) => void)[] = [];
  /** Frames dropped so far (over size, not JSON, unknown type, failed validation). */
  dropped = 0;

  constructor(sock: Socket, opts: ChannelOptions<In, Out>) {
    this.#sock = sock;
    this.#opts = opts;
    sock.on('data', (chunk: Buffer) => this.#onData(chunk));
    sock.on('error', (err) => this.#close(`channel error: ${err.message}`));
    sock.on('close', () => this.#close('peer closed the channel'));
  }

  /**
   * Handles inbound messages of `type` (notifications, or requests whose reply is the handler's result).
   * Notifications that came before their handler (the peer spoke first) are handed to it now, in order.
   */
  on<T extends keyof In & string>(type: T, handler: Handler<Payload<In, T>>): void {
    this.#handlers.set(type, handler as Handler<unknown>);
    const early = this.#early.filter((e) => e.type === type);
    this.#early = this.#early.filter((e) => e.type !== type);
    for (const e of early) this.#dispatch(type, e.payload, undefined);
  }

  /** Called once when the channel closes (peer gone, error, cut off, or `close()`), with why. */
  onClose(fn: (why: string) => void): void {
    if (this.#closed) fn('closed');
    else this.#closeWaiters.push(fn);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a notification. Throws CHANNEL_ERR_MESSAGE when the payload does not match its own schema. */
  notify<T extends keyof Out & string>(type: T, payload: Payload<Out, T>): void {
    this.#write({ t: type, p: this.#checkOut(type, payload) });
  }

  /** Sends a request and resolves with the validated reply; rejects on an error reply, timeout or close. */
  request<T extends keyof Out & string>(type: T, payload: Payload<Out, T>): Promise<unknown> {
    const id = this.#nextId++;
    const p = this.#checkOut(type, payload);
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(new TriplineError('CHANNEL_ERR_CLOSED', `channel closed: ${type} not sent`));
      const ms = this.#opts.requestTimeoutMs ?? 10_000;
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new TriplineError('CHANNEL_ERR_TIMEOUT', `${type}: no reply from the other side within ${ms} ms`));
      }, ms);
      timer.unref();
      const schema = this.#opts.replies[type];
      this.#pending.set(id, {
        resolve: (v) => {
          const r = schema ? schema.safeParse(v) : { success: true as const, data: v };
          if (r.success) resolve(r.data);
          else
            reject(new TriplineError('CHANNEL_ERR_MESSAGE', `${type}: invalid reply: ${r.error.issues[0]?.message}`));
        },
        reject,
        timer,
      });
      this.#write({ t: type, p, id });
    });
  }

  /** Closes the channel (idempotent); pending requests are rejected. */
  close(): void {
    this.#sock.destroy();
    this.#close('closed');
  }

  #checkOut(type: string, payload: unknown): unknown {
    const schema = this.#opts.outbound[type];
    if (!schema) throw new TriplineError('CHANNEL_ERR_MESSAGE', `no outbound message type ${type}`);
    const r = schema.safeParse(payload);
    if (!r.success)
      throw new TriplineError('CHANNEL_ERR_MESSAGE', `${type}: ${describe(r.error)}`, {
        hint: 'a bug on the sending side: the message does not match its schema (src/split/messages.ts)',
      });
    return r.data;
  }

  #write(frame: Frame): void {
    if (this.#closed) return;
    const line = JSON.stringify(frame);
    if (Buffer.byteLength(line) > MAX_FRAME_BYTES) {
      this.#opts.onInvalid?.(`outbound frame of ${Buffer.byteLength(line)} bytes over ${MAX_FRAME_BYTES}: not sent`);
      return;
    }
    this.#sock.write(line + '\n');
  }

  #onData(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      const part = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.#bufBytes < 0) {
        this.#bufBytes = 0; // the rest of an oversize frame ends here
        continue;
      }
      const line = this.#buf.length ? Buffer.concat([...this.#buf, part]) : part;
      this.#buf = [];
      this.#bufBytes = 0;
      if (line.length > MAX_FRAME_BYTES) this.#drop(`frame of ${line.length} bytes, over ${MAX_FRAME_BYTES} bytes`);
      else this.#onFrame(line);
    }
    const rest = chunk.subarray(start);
    if (rest.length === 0) return;
    if (this.#bufBytes < 0) return; // still skipping an oversize frame
    this.#bufBytes += rest.length;
    if (this.#bufBytes > MAX_FRAME_BYTES) {
      this.#buf = [];
      this.#bufBytes = -1; // skip to the next newline
      this.#drop(`frame over ${MAX_FRAME_BYTES} bytes`);
    } else this.#buf.push(Buffer.from(rest));
  }

  #drop(reason: string): void {
    this.dropped++;
    this.#opts.onInvalid?.(reason);
    if (++this.#invalid >= MAX_INVALID) {
      this.#sock.destroy();
      this.#close(`peer cut off after ${MAX_INVALID} invalid frames (last: ${reason})`);
    }
  }

  #onFrame(line: Buffer): void {
    let f: Record<string, unknown>;
    try {
      f = JSON.parse(line.toString('utf8')) as Record<string, unknown>;
    } catch {
      return this.#drop('frame is not JSON');
    }
    if (!f || typeof f !== 'object') return this.#drop('frame is not an object');
    if (typeof f.re === 'number') {
      const w = this.#pending.get(f.re);
      if (!w) return this.#drop(`reply to unknown request ${f.re}`);
      this.#pending.delete(f.re);
      clearTimeout(w.timer);
      if (f.ok === true) w.resolve(f.p);
      else w.reject(new TriplineError('CHANNEL_ERR_REMOTE', String(f.error ?? 'error').slice(0, 2000)));
      return;
    }
    const type = f.t;
    const id = typeof f.id === 'number' && Number.isSafeInteger(f.id) ? f.id : undefined;
    if (typeof type !== 'string' || !Object.hasOwn(this.#opts.inbound, type))
      return this.#drop(`unknown message type ${JSON.stringify(type)?.slice(0, 80)}`);
    const r = this.#opts.inbound[type].safeParse(f.p);
    if (!r.success) {
      this.#drop(`${type}: ${describe(r.error)}`);
      if (id !== undefined) this.#write({ re: id, ok: false, error: `invalid ${type}: ${describe(r.error)}` });
      return;
    }
    if (!this.#handlers.has(type)) {
      if (id !== undefined) this.#write({ re: id, ok: false, error: `${type} is not handled here` });
      else if (this.#early.length < MAX_EARLY) this.#early.push({ type, payload: r.data });
      else this.#drop(`${type}: no handler yet and ${MAX_EARLY} early notifications held`);
      return;
    }
    this.#dispatch(type, r.data, id);
  }

  #dispatch(type: string, payload: unknown, id: number | undefined): void {
    const handler = this.#handlers.get(type)!;
    void (async () => {
      try {
        const out = await handler(payload);
        if (id !== undefined) this.#write({ re: id, ok: true, p: out ?? null });
      } catch (err) {
        if (id !== undefined) this.#write({ re: id, ok: false, error: (err as Error)?.message ?? String(err) });
        else this.#opts.onInvalid?.(`${type} handler failed: ${(err as Error)?.message ?? err}`);
      }
    })();
  }

  #close(why: string): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [, w] of this.#pending) {
      clearTimeout(w.timer);
      w.reject(new TriplineError('CHANNEL_ERR_CLOSED', `channel closed before the reply: ${why}`));
    }
    this.#pending.clear();
    for (const fn of this.#closeWaiters.splice(0)) fn(why);
  }
}

function describe(err: z.ZodError): string {
  const i = err.issues[0];
  return i ? `${i.path.join('.') || '(payload)'}: ${i.message}` : 'invalid';
}

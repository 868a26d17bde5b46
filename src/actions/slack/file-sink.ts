/**
 * The Slack transport without a token: every call Slack would get is written as one JSON file (mode 0600) in the
 * outbox folder (`slack.file_sink`, default `<data_dir>/slack-outbox`), with the same Block Kit JSON and, for
 * uploads, the bundle's path. A newcomer (or `tripline actions fire --dry-run`) sees exactly what Slack would show.
 */
import { mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { RetryableError } from '../errors.ts';
import type { SlackMessage } from './blocks.ts';
import type { MessageRef, PendingUpload, SlackTransport } from './transport.ts';

/** Orders the files written by this process within one millisecond. */
let fileSeq = 0;

/** One outbox file. `method` names the Web API call it stands for. */
export interface OutboxEntry {
  readonly method: 'chat.postMessage' | 'chat.update' | 'files.uploadV2';
  readonly channel: string;
  readonly ts: string;
  readonly thread_ts?: string;
  readonly text?: string;
  readonly blocks?: SlackMessage['blocks'];
  /** For uploads: the bundle tarball on disk (not copied) and its size. */
  readonly file?: string;
  readonly bytes?: number;
  readonly title?: string;
  readonly initial_comment?: string;
  readonly written_at: string;
}

/** Writes Slack calls to files; message ts values are made up the way Slack makes them (`seconds.micros`). */
export class FileSink implements SlackTransport {
  readonly kind = 'file' as const;
  readonly dir: string;
  readonly #now: () => number;
  #seq = 0;
  /** Files whose upload was started, by file id, so step 3 can record which bundle went where. */
  readonly #pending = new Map<string, { file: string; bytes: number }>();

  constructor(dir: string, now: () => number = Date.now) {
    this.dir = dir;
    this.#now = now;
  }

  /** The default outbox of a config: `slack.file_sink` or `<data_dir>/slack-outbox`. */
  static dirFor(config: { readonly data_dir: string; readonly slack: { readonly file_sink?: string } }): string {
    return config.slack.file_sink ?? join(config.data_dir, 'slack-outbox');
  }

  async post(channel: string, message: SlackMessage, threadTs?: string): Promise<MessageRef> {
    const ts = this.#ts();
    this.#write({
      method: 'chat.postMessage',
      channel,
      ts,
      thread_ts: threadTs,
      text: message.text,
      blocks: message.blocks,
      written_at: new Date(this.#now()).toISOString(),
    });
    return { channel, ts };
  }

  async update(ref: MessageRef, message: SlackMessage): Promise<void> {
    this.#write({
      method: 'chat.update',
      channel: ref.channel,
      ts: ref.ts,
      text: message.text,
      blocks: message.blocks,
      written_at: new Date(this.#now()).toISOString(),
    });
  }

  async startUpload(filename: string, length: number): Promise<PendingUpload> {
    const fileId = `F${randomBytes(5).toString('hex').toUpperCase()}`;
    this.#pending.set(fileId, { file: filename, bytes: length });
    return { fileId, uploadUrl: `file://${this.dir}/${fileId}` };
  }

  /** Only the sink's own upload URLs (`file://<its folder>/<file id>`). */
  isUploadUrl(url: string): boolean {
    return url.startsWith(`file://${this.dir}/`) && !url.slice(`file://${this.dir}/`.length).includes('/');
  }

  async sendBytes(upload: PendingUpload, file: string, bytes: Buffer): Promise<void> {
    // The sink keeps the bundle where it is: record its path and size only.
    this.#pending.set(upload.fileId, { file, bytes: bytes.length });
  }

  async completeUpload(upload: PendingUpload, title: string, thread: MessageRef, comment: string): Promise<void> {
    const p = this.#pending.get(upload.fileId);
    this.#write({
      method: 'files.uploadV2',
      channel: thread.channel,
      ts: this.#ts(),
      thread_ts: thread.ts,
      file: p?.file,
      bytes: p?.bytes,
      title,
      initial_comment: comment,
      written_at: new Date(this.#now()).toISOString(),
    });
    this.#pending.delete(upload.fileId);
  }

  /** The outbox's files in write order (names sort by time, then sequence). */
  list(): string[] {
    try {
      return readdirSync(this.dir)
        .filter((f) => f.endsWith('.json'))
        .sort();
    } catch {
      return [];
    }
  }

  #ts(): string {
    const ms = this.#now();
    this.#seq = (this.#seq + 1) % 1000;
    return `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1000 + this.#seq).padStart(6, '0')}`;
  }

  #write(entry: OutboxEntry): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const name = `${new Date(this.#now()).toISOString().replace(/[:.]/g, '-')}-${process.pid}-${String(++fileSeq).padStart(6, '0')}-${entry.method}.json`;
      // Mode 0600: the outbox holds incident details that may be sensitive; `wx` never overwrites.
      writeFileSync(join(this.dir, name), `${JSON.stringify(entry, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    } catch (cause) {
      throw new RetryableError(`slack file sink: cannot write to ${this.dir}: ${(cause as Error).message}`, {
        reason: 'file_sink',
        hint: 'check slack.file_sink (or data_dir) is writable',
        cause,
      });
    }
  }
}

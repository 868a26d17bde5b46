/**
 * Where Slack messages go: the Web API (`client.ts`) or, without a token, files (`file-sink.ts`). The Slack
 * action speaks only to this interface, so grouping, threads and uploads work the same for both.
 */
import type { SlackMessage } from './blocks.ts';

/** A posted message's address; `ts` is Slack's message id within the channel. */
export interface MessageRef {
  readonly channel: string;
  readonly ts: string;
}

/** A file whose upload was started: the id Slack gave it and the URL its bytes go to. */
export interface PendingUpload {
  readonly fileId: string;
  readonly uploadUrl: string;
}

/** The calls the Slack action makes. Each throws RetryableError, UnrecoverableError or RateLimitedError. */
export interface SlackTransport {
  /** `client` (Web API) or `file` (sink); shown in outcomes. */
  readonly kind: 'client' | 'file';
  /** chat.postMessage; `threadTs` makes it a reply in that thread. */
  post(channel: string, message: SlackMessage, threadTs?: string): Promise<MessageRef>;
  /** chat.update of a posted message. */
  update(ref: MessageRef, message: SlackMessage): Promise<void>;
  /** Step 1 of an upload: files.getUploadURLExternal. */
  startUpload(filename: string, length: number): Promise<PendingUpload>;
  /**
   * True when `url` is an upload URL this transport would send bytes to (Slack's file host, or the sink's folder).
   * A stored upload in progress whose URL fails this is started over (the store is Redis: not trusted).
   */
  isUploadUrl(url: string): boolean;
  /** Step 2: the bytes to the upload URL. Safe to repeat for the same upload. */
  sendBytes(upload: PendingUpload, file: string, bytes: Buffer): Promise<void>;
  /** Step 3: files.completeUploadExternal, sharing the file into the thread. */
  completeUpload(upload: PendingUpload, title: string, thread: MessageRef, comment: string): Promise<void>;
}

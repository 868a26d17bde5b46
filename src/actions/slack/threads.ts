/**
 * Incident key → the parent message of its thread, kept in the action store (Redis when the queue is, so every
 * engine posts updates of one incident into the same thread). Also per-job markers that make each Slack call of
 * a job happen once even when BullMQ runs the job again (at-least-once delivery).
 */
import type { ActionStore } from '../types.ts';
import type { MessageRef } from './transport.ts';

/** How long a thread mapping is kept after its last write (a resolved incident's updates arrive within hours). */
export const THREAD_TTL_MS = 7 * 86_400_000;

/** Where an incident's messages go. `group` names the grouped parent it belongs to. */
export interface ThreadRecord extends MessageRef {
  readonly group: string;
}

/** Thread and marker persistence over an ActionStore. */
export class Threads {
  readonly #store: ActionStore;
  readonly #ttlMs: number;
  /** Key prefix: `slack`, or `slack-file` for the file sink, so outbox "threads" never mix with Slack's. */
  readonly ns: string;

  constructor(store: ActionStore, ns = 'slack', ttlMs: number = THREAD_TTL_MS) {
    this.#store = store;
    this.ns = ns;
    this.#ttlMs = ttlMs;
  }

  /** The thread of an incident key, if its parent was posted. */
  async get(incidentKey: string): Promise<ThreadRecord | undefined> {
    const raw = await this.#store.get(`${this.ns}:thread:${incidentKey}`);
    return raw ? (JSON.parse(raw) as ThreadRecord) : undefined;
  }

  /** Records (or refreshes) the thread of an incident key. */
  async set(incidentKey: string, rec: ThreadRecord): Promise<void> {
    await this.#store.set(
      `${this.ns}:thread:${incidentKey}`,
      JSON.stringify({ channel: rec.channel, ts: rec.ts, group: rec.group }),
      this.#ttlMs,
    );
  }

  /** A value recorded by a step of a job (e.g. the ts of a reply it posted), so a rerun skips the step. */
  async marker(jobId: string, step: string): Promise<string | undefined> {
    return this.#store.get(`${this.ns}:done:${jobId}:${step}`);
  }

  /** Records that a step of a job is done. */
  async mark(jobId: string, step: string, value = '1'): Promise<void> {
    await this.#store.set(`${this.ns}:done:${jobId}:${step}`, value, this.#ttlMs);
  }
}

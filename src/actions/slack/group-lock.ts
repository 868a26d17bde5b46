/**
 * The cross-host lock of one Slack incident group (in the action store: Redis, or the in-process store). Its token
 * names one run of one job, so a run that takes over from an earlier run of the same job (its engine was killed
 * mid-post, the queue ran the job again) is told apart from it, and a run checks it still holds the lock before it
 * posts: an earlier run that was only slow, not dead, then fails instead of posting a second parent message.
 */
import { randomUUID } from 'node:crypto';
import { RetryableError } from '../errors.ts';
import type { ActionStore } from '../types.ts';

/** How long the lock lives: a crashed holder frees it. */
export const LOCK_TTL_MS = 30_000;
/** How often a waiting delivery tries the lock again. */
export const LOCK_RETRY_MS = 100;

/** A taken group lock. */
export class GroupLock {
  readonly #store: ActionStore;
  readonly #key: string;
  readonly #token: string;

  private constructor(store: ActionStore, key: string, token: string) {
    this.#store = store;
    this.#key = key;
    this.#token = token;
  }

  /**
   * Takes the lock `key` for a run of job `jobId`, waiting up to `maxTries` retries; takes it over from an earlier run
   * of the same job. RetryableError when another delivery keeps it, or when `aborted()`.
   */
  static async take(
    store: ActionStore,
    key: string,
    jobId: string,
    opts: { maxTries: number; aborted: () => boolean; sleep: (ms: number) => Promise<void> },
  ): Promise<GroupLock> {
    const token = `${jobId}#${randomUUID()}`;
    for (let tries = 0; !(await store.setIfAbsent(key, token, LOCK_TTL_MS)); tries++) {
      if ((await store.get(key))?.startsWith(`${jobId}#`)) {
        await store.set(key, token, LOCK_TTL_MS);
        break;
      }
      if (tries >= opts.maxTries || opts.aborted())
        throw new RetryableError('slack: another delivery holds this incident group', { reason: 'group_busy' });
      await opts.sleep(LOCK_RETRY_MS);
    }
    return new GroupLock(store, key, token);
  }

  /** Throws (retryable) unless this run still holds the lock. */
  async check(): Promise<void> {
    if ((await this.#store.get(this.#key)) !== this.#token)
      throw new RetryableError('slack: another run of this delivery took over the incident group', {
        reason: 'group_taken',
      });
  }

  /** Frees the lock if this run still holds it. */
  async release(): Promise<void> {
    if ((await this.#store.get(this.#key)) === this.#token) await this.#store.del(this.#key);
  }
}

/**
 * Clicks passed to another engine: a capture must run on the incident's host, but Slack gives a click to any
 * engine's connection. The engine that took it (and claimed its name) puts the parsed click (never Slack's raw
 * payload) in the host's mailbox in the action store (Redis); each engine empties its own mailbox every second and
 * handles what it finds (clicks.ts handleForwarded: parsed again, captures only, once, authorized again: the store
 * is not trusted more than Slack). Bounded: 100 clicks per mailbox, kept 10 minutes.
 */
import { randomUUID } from 'node:crypto';
import type { ActionStore } from '../../types.ts';
import { GroupLock } from '../group-lock.ts';
import type { Click } from './payload.ts';

const MAX_ITEMS = 100;
const TTL_MS = 600_000;
/** Largest click passed on (a parsed click is a few hundred bytes). */
const MAX_BYTES = 8 * 1024;

export class Mailbox {
  readonly #store: ActionStore;

  constructor(store: ActionStore) {
    this.#store = store;
  }

  /** Puts a parsed click in `host`'s mailbox; false when it is too big. */
  async send(host: string, click: Click): Promise<boolean> {
    const text = JSON.stringify(click);
    if (text.length > MAX_BYTES) return false;
    await this.#locked(host, async (items) => {
      items.push(text);
      return items.slice(-MAX_ITEMS);
    });
    return true;
  }

  /** Takes every click in `host`'s mailbox. */
  async drain(host: string): Promise<unknown[]> {
    if (!(await this.#store.get(`slack:mailbox:${host}`))) return [];
    let taken: string[] = [];
    await this.#locked(host, async (items) => {
      taken = items;
      return [];
    });
    return taken.flatMap((t) => {
      try {
        return [JSON.parse(t) as unknown];
      } catch {
        return [];
      }
    });
  }

  async #locked(host: string, fn: (items: string[]) => Promise<string[]>): Promise<void> {
    const key = `slack:mailbox:${host}`;
    const lock = await GroupLock.take(this.#store, `${key}:lock`, `mailbox-${randomUUID()}`, {
      maxTries: 100,
      aborted: () => false,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    });
    try {
      let items: string[] = [];
      try {
        const raw = JSON.parse((await this.#store.get(key)) ?? '[]') as unknown;
        items = Array.isArray(raw) ? raw.filter((x): x is string => typeof x === 'string').slice(-MAX_ITEMS) : [];
      } catch {
        items = [];
      }
      const next = await fn(items);
      if (next.length) await this.#store.set(key, JSON.stringify(next), TTL_MS);
      else await this.#store.del(key);
    } finally {
      await lock.release();
    }
  }
}

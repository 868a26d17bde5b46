/**
 * Silences from Slack, fleet-wide: whichever engine takes a Silence click, every engine sharing the action store
 * (Redis) applies the silence to its own probe side, since a series may trip on any of them (a pod's incident is
 * seen by every node that runs it; a node's by its host only). The silences are one bounded JSON document in the
 * store; each engine reads it every few seconds (and at once after a click) and adds or removes its local API
 * silences to match. A local silence carries its fleet id in its comment, so a restarted engine (whose API
 * silences were persisted) recognises its own and adds no second one.
 */
import { randomUUID } from 'node:crypto';
import { compileChecked, type SilenceService } from '../../../rules/silence-service.ts';
import { SilenceSpecSchema } from '../../../rules/parse/schema.ts';
import type { ActionLogger, ActionStore } from '../../types.ts';
import { GroupLock } from '../group-lock.ts';

/** A silence spec as the silence service takes it (API form). */
export interface SilenceSpecInput {
  readonly matchers: Record<string, string>;
  readonly starts_at: string;
  readonly ends_at: string;
  readonly author: string;
  readonly comment: string;
}

interface Entry {
  readonly sid: string;
  readonly spec: SilenceSpecInput;
  readonly until: number;
  removed?: boolean;
}

/** Slack silences kept in the document; past it the oldest go (their silences still end on their own). */
const MAX_ENTRIES = 500;
const DOC = 'slack:silences';
const TAG = /\[slack ([0-9a-f-]{36})\]$/;

export class SilenceSync {
  readonly #store: ActionStore;
  readonly #local: SilenceService;
  readonly #log: ActionLogger;
  readonly #now: () => number;
  #timer?: NodeJS.Timeout;
  #running?: Promise<void>;

  constructor(store: ActionStore, local: SilenceService, log: ActionLogger, now: () => number = Date.now) {
    this.#store = store;
    this.#local = local;
    this.#log = log;
    this.#now = now;
  }

  /** Syncs every `everyMs` until stop. */
  start(everyMs = 5000): void {
    this.#timer = setInterval(() => void this.sync(), everyMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Publishes a silence for the fleet (checked as the silence service would first); returns its fleet id. */
  async publish(spec: SilenceSpecInput): Promise<string> {
    const sid = randomUUID();
    const tagged = { ...spec, comment: `${spec.comment.slice(0, 900)} [slack ${sid}]` };
    compileChecked(SilenceSpecSchema.parse(tagged), this.#now());
    await this.#edit((entries) => {
      entries.push({ sid, spec: tagged, until: Date.parse(spec.ends_at) });
    });
    return sid;
  }

  /** Marks fleet silences removed. */
  async unpublish(sids: readonly string[]): Promise<void> {
    await this.#edit((entries) => {
      for (const e of entries) if (sids.includes(e.sid)) e.removed = true;
    });
  }

  /** Brings this engine's silences in line with the document (one run at a time). */
  sync(): Promise<void> {
    this.#running ??= this.#sync().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #sync(): Promise<void> {
    try {
      const entries = await this.#read();
      const mine = new Map<string, string>();
      for (const s of await this.#local.list()) {
        const m = TAG.exec(s.comment);
        if (m) mine.set(m[1], s.id);
      }
      for (const e of entries) {
        const local = mine.get(e.sid);
        if (e.removed && local) await this.#local.remove(local);
        else if (!e.removed && !local && e.until > this.#now()) await this.#local.add(e.spec);
      }
    } catch (err) {
      this.#log.warn({ err: (err as Error)?.message }, 'slack: silences from Slack could not be synced');
    }
  }

  async #read(): Promise<Entry[]> {
    const raw = await this.#store.get(DOC);
    if (!raw) return [];
    try {
      const doc = JSON.parse(raw) as { entries?: unknown };
      return Array.isArray(doc.entries)
        ? (doc.entries as Entry[]).filter((e) => typeof e?.sid === 'string' && e.spec && typeof e.until === 'number')
        : [];
    } catch {
      return [];
    }
  }

  async #edit(fn: (entries: Entry[]) => void): Promise<void> {
    const lock = await GroupLock.take(this.#store, `${DOC}:lock`, `silences-${randomUUID()}`, {
      maxTries: 100,
      aborted: () => false,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    });
    try {
      const now = this.#now();
      const entries = (await this.#read()).filter((e) => e.until > now);
      fn(entries);
      await this.#store.set(DOC, JSON.stringify({ entries: entries.slice(-MAX_ENTRIES) }), 31 * 86_400_000);
    } finally {
      await lock.release();
    }
  }
}

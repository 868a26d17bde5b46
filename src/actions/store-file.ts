/**
 * ActionStore in one JSON file (`<data_dir>/action-store.json`, mode 0600) for engines without Redis: Slack
 * threads, grouping state, scale cooldowns and claims survive a restart of the engine, so a resolution after a
 * restart still lands in the incident's thread and a cooldown still holds. One process only (the in-process
 * queue): there is no locking between processes. Every change is written through before its call resolves
 * (atomic-file.ts: temp file, fsync, rename, fsync of the folder), so a crash leaves the old or the new file, never
 * half of one.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../atomic-file.ts';
import { TriplineError } from '../errors.ts';
import type { ActionStore } from './types.ts';

/** Entries kept at most; past it the ones closest to expiry are dropped (the store holds hints, not the queue). */
const MAX_ENTRIES = 50_000;

interface Entry {
  v: string;
  e: number | null;
}

/** The file-backed store. */
export class FileStore implements ActionStore {
  readonly file: string;
  readonly #now: () => number;
  readonly #data = new Map<string, Entry>();
  /** Writes run one after another, each of the data as it is then: an older write never lands after a newer one. */
  #chain: Promise<void> = Promise.resolve();

  /** Loads `file` when it exists; a damaged file is ACTION_ERR_CONFIG naming it (move it away to start empty). */
  constructor(file: string, now: () => number = Date.now) {
    this.file = file;
    this.#now = now;
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new TriplineError(
          'ACTION_ERR_CONFIG',
          `cannot read the action store ${file}: ${(err as Error).message}`,
          { hint: 'check data_dir is readable by tripline', cause: err },
        );
    }
    if (text === undefined) return;
    let parsed: Record<string, Entry>;
    try {
      parsed = JSON.parse(text) as Record<string, Entry>;
    } catch (cause) {
      throw new TriplineError('ACTION_ERR_CONFIG', `the action store ${file} is not valid JSON`, {
        hint: `move ${file} away; tripline starts with an empty store (Slack threads and cooldowns are forgotten)`,
        cause,
      });
    }
    const at = this.#now();
    for (const [k, e] of Object.entries(parsed))
      if (e && typeof e.v === 'string' && (e.e === null || e.e > at)) this.#data.set(k, e);
  }

  async get(key: string): Promise<string | undefined> {
    const e = this.#data.get(key);
    if (!e) return undefined;
    if (e.e !== null && e.e <= this.#now()) {
      this.#data.delete(key);
      return undefined;
    }
    return e.v;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.#data.set(key, { v: value, e: ttlMs ? this.#now() + ttlMs : null });
    await this.#save();
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    if ((await this.get(key)) !== undefined) return false;
    await this.set(key, value, ttlMs);
    return true;
  }

  async del(key: string): Promise<void> {
    if (this.#data.delete(key)) await this.#save();
  }

  #save(): Promise<void> {
    const next = this.#chain.then(() => this.#write());
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #write(): Promise<void> {
    const now = this.#now();
    for (const [k, e] of this.#data) if (e.e !== null && e.e <= now) this.#data.delete(k);
    if (this.#data.size > MAX_ENTRIES) {
      const byExpiry = [...this.#data.entries()].sort((a, b) => (a[1].e ?? Infinity) - (b[1].e ?? Infinity));
      for (const [k] of byExpiry.slice(0, this.#data.size - MAX_ENTRIES)) this.#data.delete(k);
    }
    try {
      await writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(this.#data)), { mode: 0o600 });
    } catch (cause) {
      throw new TriplineError(
        'ACTION_ERR_CONFIG',
        `cannot write the action store ${this.file}: ${(cause as Error).message}`,
        { hint: 'check data_dir is writable by tripline', cause },
      );
    }
  }
}

/** In-process ActionStore for the in-memory queue: per-process only (several engines do not share it). */
import type { ActionStore } from './types.ts';

/** A Map with expiry; `now` is injectable for tests. */
export class MemoryStore implements ActionStore {
  private readonly data = new Map<string, { value: string; expires: number }>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  private live(key: string): string | undefined {
    const e = this.data.get(key);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.data.delete(key);
      return undefined;
    }
    return e.value;
  }

  async get(key: string): Promise<string | undefined> {
    return this.live(key);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.data.set(key, { value, expires: ttlMs ? this.now() + ttlMs : Infinity });
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    if (this.live(key) !== undefined) return false;
    await this.set(key, value, ttlMs);
    return true;
  }

  async del(key: string): Promise<void> {
    this.data.delete(key);
  }
}

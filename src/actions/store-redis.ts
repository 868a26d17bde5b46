/** ActionStore on Redis: shared by every engine on the same Redis and prefix (Slack threads, scale cooldowns). */
import type { Redis } from 'ioredis';
import type { ActionStore } from './types.ts';

/** Keys are `<prefix>:store:<key>`; values are strings. */
export class RedisStore implements ActionStore {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = `${prefix}:store:`;
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(this.prefix + key)) ?? undefined;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs) await this.redis.set(this.prefix + key, value, 'PX', Math.max(1, Math.round(ttlMs)));
    else await this.redis.set(this.prefix + key, value);
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    const r = ttlMs
      ? await this.redis.set(this.prefix + key, value, 'PX', Math.max(1, Math.round(ttlMs)), 'NX')
      : await this.redis.set(this.prefix + key, value, 'NX');
    return r === 'OK';
  }

  async del(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }
}

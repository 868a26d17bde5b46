/** Start-up check of the Redis the queue uses: reachable, and configured never to evict keys (queue data). */
import type { Redis } from 'ioredis';
import { TriplineError } from '../errors.ts';
import { redactUrl } from './redact.ts';

/**
 * Throws ACTION_ERR_REDIS unless Redis answers within `timeoutMs` with `maxmemory_policy:noeviction`. An evicting
 * Redis silently drops queued jobs and dedup keys under memory pressure: lost or doubled actions.
 */
export async function checkRedis(redis: Redis, url: string, timeoutMs = 5000): Promise<void> {
  let info: string;
  try {
    info = await Promise.race([
      redis.info('memory'),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref(),
      ),
    ]);
  } catch (cause) {
    throw new TriplineError(
      'ACTION_ERR_REDIS',
      `cannot reach Redis at ${redactUrl(url)}: ${(cause as Error).message}`,
      { hint: 'start Redis or fix redis.url / REDIS_URL; unset it to use the in-process queue (not durable)', cause },
    );
  }
  const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  if (policy !== 'noeviction') {
    throw new TriplineError(
      'ACTION_ERR_REDIS',
      `Redis at ${redactUrl(url)} has maxmemory-policy ${policy ?? '(unknown)'}; queued actions could be evicted`,
      {
        hint: 'run `redis-cli CONFIG SET maxmemory-policy noeviction` and set `maxmemory-policy noeviction` in redis.conf',
      },
    );
  }
}

/**
 * The one place tripline makes Redis clients (ioredis), so every connection to the same Redis behaves the same way
 * while Redis is away. Two uses, two settings:
 *
 * | use        | who                                             | maxRetriesPerRequest | while Redis is down       |
 * |------------|-------------------------------------------------|----------------------|---------------------------|
 * | `commands` | action queue producer and store, rule state     | 1                    | commands fail within ~2 s |
 * | `blocking` | BullMQ workers (their blocking waits for jobs)  | null (never fails)   | commands wait for Redis   |
 *
 * `commands` fails fast because every caller has a better answer than waiting: enqueue spills jobs to memory, the
 * rule state reports the error and the next save writes again. `blocking` is what BullMQ requires of a worker
 * connection: a blocking command that failed during a Redis restart would stop the worker loop.
 * Both reconnect by themselves (ioredis' default back-off, capped at 2 s); errors go to `onError`, never to
 * ioredis' "Unhandled error event" print.
 */
import { Redis, type RedisOptions } from 'ioredis';

/** What a connection is used for; see the table above. */
export type RedisUse = 'commands' | 'blocking';

/** A TCP connect that takes longer than this is dropped and retried: a LAN Redis answers in milliseconds. */
export const REDIS_CONNECT_TIMEOUT_MS = 2000;

/** Client settings per use (added to what the URL says: host, port, password, db, TLS). */
export const REDIS_CLIENT_SETTINGS: Readonly<Record<RedisUse, Readonly<RedisOptions>>> = Object.freeze({
  commands: { maxRetriesPerRequest: 1, connectTimeout: REDIS_CONNECT_TIMEOUT_MS, lazyConnect: false },
  blocking: { maxRetriesPerRequest: null, connectTimeout: REDIS_CONNECT_TIMEOUT_MS, lazyConnect: false },
});

/** Opens a client to `url` for `use`; it connects at once and reports connection errors to `onError`. */
export function openRedis(url: string, use: RedisUse, onError: (err: Error) => void = () => undefined): Redis {
  const client = new Redis(url, { ...REDIS_CLIENT_SETTINGS[use] });
  client.on('error', onError);
  return client;
}

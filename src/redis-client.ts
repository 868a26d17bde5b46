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
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';
import { TriplineError } from './errors.ts';

/** How to reach a Redis that wants more than a URL: a CA for TLS (`rediss://`), a password kept in a file. */
export interface RedisSecurity {
  /** PEM file of the CA that signed the Redis server's certificate (config `redis.tls_ca_file`). */
  readonly tls_ca_file?: string;
  /** File holding the Redis password (config `redis.password_file`, env REDIS_PASSWORD_FILE): never in the URL or logs. */
  readonly password_file?: string;
}

/** Client options for `security`; throws CONFIG_ERR_INVALID naming the file that cannot be read. */
export function securityOptions(security: RedisSecurity = {}): RedisOptions {
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new TriplineError('CONFIG_ERR_INVALID', `redis.${what} ${file}: ${(err as Error).message}`, {
        hint: `make the file readable by tripline, or unset redis.${what}`,
      });
    }
  };
  const out: RedisOptions = {};
  if (security.tls_ca_file) out.tls = { ca: read(security.tls_ca_file, 'tls_ca_file') };
  if (security.password_file) out.password = read(security.password_file, 'password_file').toString('utf8').trim();
  return out;
}

/** What a connection is used for; see the table above. */
export type RedisUse = 'commands' | 'blocking';

/** A TCP connect that takes longer than this is dropped and retried: a LAN Redis answers in milliseconds. */
export const REDIS_CONNECT_TIMEOUT_MS = 2000;

/** Client settings per use (added to what the URL says: host, port, password, db, TLS). */
export const REDIS_CLIENT_SETTINGS: Readonly<Record<RedisUse, Readonly<RedisOptions>>> = Object.freeze({
  commands: { maxRetriesPerRequest: 1, connectTimeout: REDIS_CONNECT_TIMEOUT_MS, lazyConnect: false },
  blocking: { maxRetriesPerRequest: null, connectTimeout: REDIS_CONNECT_TIMEOUT_MS, lazyConnect: false },
});

/**
 * Opens a client to `url` for `use`, with `security` (CA, password file) from the config; it connects at once and
 * reports connection errors to `onError`.
 */
export function openRedis(
  url: string,
  use: RedisUse,
  onError: (err: Error) => void = () => undefined,
  security?: RedisSecurity,
): Redis {
  // Loaded at the first client (ioredis is CommonJS, so synchronously): a host without Redis never pays its memory.
  const { Redis: Client } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
  const client = new Client(url, { ...REDIS_CLIENT_SETTINGS[use], ...securityOptions(security) });
  client.on('error', onError);
  return client;
}

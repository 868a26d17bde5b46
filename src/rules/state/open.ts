/**
 * Picks the rule-state back end from the config: Redis when `redis.url` is set (the client is passed
 * in, shared with the action queues), otherwise `<data_dir>/rule-state.json` (STATE_FILE).
 */
import { join } from 'node:path';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { StateErrorHandler, StateStore } from './store.ts';
import { FileStateStore } from './file.ts';
import { RedisStateStore } from './redis.ts';

/** File name of the file back end inside data_dir. */
export const STATE_FILE = 'rule-state.json';

/** The state store for this config. */
export function openStateStore(
  config: { readonly data_dir: string; readonly redis: { readonly url?: string; readonly prefix: string } },
  redis: Redis | undefined,
  onError: StateErrorHandler = () => {},
  host = hostname(),
): StateStore {
  if (config.redis.url && redis) return new RedisStateStore(redis, config.redis.prefix, onError, host);
  return new FileStateStore(join(config.data_dir, STATE_FILE), onError);
}

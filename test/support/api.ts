/** Calls the engine's authenticated API as an operator would: the bearer token from `<data_dir>/api-token`. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** GET `path` of the API at `base`, with the token of the engine whose data_dir is `dataDir`. */
export function apiGet(base: string, path: string, dataDir: string): Promise<Response> {
  const token = readFileSync(join(dataDir, 'api-token'), 'utf8').trim();
  return fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
}

/**
 * Access to `/api`: a bearer token, a Host header that names this server (no DNS rebinding), and bodies that are
 * exactly `application/json` (a cross-site form or `text/plain; x=json` post is refused: browsers send those
 * without a preflight). The token lives in a file (`api.token_file`, default `<data_dir>/api-token`), created 0600
 * with 32 random bytes at first start when missing; the log names the file, never the token.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { TriplineError } from '../errors.ts';

/** Who may call the API. */
export interface ApiAccess {
  /** The bearer token (at least 16 characters). */
  readonly token: string;
  /** Host names besides IP literals and `localhost` that requests may address (e.g. the node's name). */
  readonly allowedHosts?: readonly string[];
}

/** Why a request was refused: status, code, message, hint. */
export interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly hint: string;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** The Host header's name without port or brackets, lower case; '' when absent. */
function hostName(host: string | undefined): string {
  if (!host) return '';
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']'));
  const colon = h.lastIndexOf(':');
  return colon > 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

/** Checks an `/api` request; undefined when it may proceed, else why not. */
export function checkApiRequest(
  access: ApiAccess,
  method: string,
  headers: IncomingHttpHeaders,
  body: Buffer | undefined,
): Refusal | undefined {
  const name = hostName(headers.host);
  if (!(isIP(name) || name === 'localhost' || (access.allowedHosts ?? []).some((h) => h.toLowerCase() === name)))
    return {
      status: 421,
      code: 'SERVER_ERR_REQUEST',
      message: `Host ${JSON.stringify(headers.host ?? '')} is not a name of this server`,
      hint: 'address the API by IP or localhost, or add the name to api.allowed_hosts',
    };
  const auth = headers.authorization ?? '';
  const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(auth);
  if (!m || !timingSafeEqual(digest(m[1]), digest(access.token)))
    return {
      status: 401,
      code: 'SERVER_ERR_UNAUTHORIZED',
      message: m ? 'wrong API token' : 'the API needs Authorization: Bearer <token>',
      hint: 'send the token from api.token_file (default <data_dir>/api-token) as a bearer token',
    };
  const hasBody = (body?.length ?? 0) > 0 || method === 'POST' || method === 'PUT' || method === 'PATCH';
  if (hasBody) {
    const type = String(headers['content-type'] ?? '')
      .toLowerCase()
      .replace(/\s+/g, '');
    if (type !== 'application/json' && type !== 'application/json;charset=utf-8')
      return {
        status: 415,
        code: 'SERVER_ERR_REQUEST',
        message: `content type ${JSON.stringify(headers['content-type'] ?? '')} is not application/json`,
        hint: 'send the body as Content-Type: application/json',
      };
  }
  return undefined;
}

/**
 * The API token from `path`, created (0600, 32 random bytes, base64url) when missing. Refuses a file that is not
 * a regular file, is readable by others than its owner, or holds a token shorter than 16 characters.
 */
export function loadApiToken(path: string): { token: string; created: boolean } {
  let created = false;
  try {
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, `${randomBytes(32).toString('base64url')}\n`);
    } finally {
      closeSync(fd);
    }
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new TriplineError('CONFIG_ERR_INVALID', `api.token_file ${path}: ${(err as Error).message}`, {
        hint: 'make its folder exist and writable by tripline, or point api.token_file elsewhere',
      });
  }
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  let token: string;
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || (st.mode & 0o077) !== 0)
      throw new TriplineError(
        'CONFIG_ERR_INVALID',
        `api.token_file ${path} must be a regular file only its owner can read`,
        {
          hint: `chmod 600 ${path}`,
        },
      );
    token = readFileSync(fd, 'utf8').trim();
  } finally {
    closeSync(fd);
  }
  if (token.length < 16 || !/^[\x21-\x7e]+$/.test(token))
    throw new TriplineError(
      'CONFIG_ERR_INVALID',
      `api.token_file ${path} holds no usable token (16+ printable characters)`,
      {
        hint: `remove it to have a new one made at the next start, or write a longer token`,
      },
    );
  return { token, created };
}

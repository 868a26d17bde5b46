/**
 * Where a credential may be sent: a bearer token (Slack, Kubernetes) or a secret header goes over HTTPS, or over
 * plain HTTP only to this machine (loopback: local test servers and proxies). A config or rule that would send one
 * in clear text across a network is refused with the fix.
 */
import { isIP } from 'node:net';
import { TriplineError } from '../errors.ts';

/** True for localhost, 127.0.0.0/8 and ::1. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Throws ACTION_ERR_CONFIG unless `url` is https, or http to loopback. `what` names the setting for the message. */
export function assertCredentialTransport(url: string, what: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TriplineError('ACTION_ERR_CONFIG', `${what}: ${JSON.stringify(url)} is not a URL`, {
      hint: 'write https://…',
    });
  }
  if (u.protocol === 'https:') return;
  if (u.protocol === 'http:' && isLoopbackHost(u.hostname)) return;
  throw new TriplineError(
    'ACTION_ERR_CONFIG',
    `${what}: refusing to send a credential to ${u.protocol}//${u.host} in clear text`,
    {
      hint: 'use https:// (plain http is allowed only to this machine: localhost, 127.0.0.0/8, ::1)',
    },
  );
}

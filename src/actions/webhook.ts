/**
 * The webhook action: a signed JSON POST for other autoscalers and tools.
 *
 * Headers: `X-Tripline-Signature: sha256=<hex HMAC-SHA256 of the exact body>` (when the spec names a secret env),
 * `X-Tripline-Idempotency-Key: <job id>` (the same on every retry and every host), `X-Tripline-Event`.
 * Failures are classified for the queue: network errors, timeouts, 408 and 5xx retry; 429 with Retry-After parks
 * the job; other 4xx and redirects fail at once. The URL's credentials, query and secret-looking path segments
 * never appear in errors or logs.
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { TriplineError } from '../errors.ts';
import type { Config } from '../config.ts';
import { DurationSchema } from '../rules/parse/schema.ts';
import { parseDuration } from '../rules/compile/units.ts';
import type { Action, ActionContext, ActionJob, ActionOutcome } from './types.ts';
import { RateLimitedError, RetryableError, UnrecoverableError, parseRetryAfter } from './errors.ts';
import { redactUrl } from './redact.ts';
import { assertCredentialTransport } from './token-transport.ts';

/** Header names that carry credentials: never written in a rule (use headers_from_env). */
const SECRET_HEADER = /^(authorization|proxy-authorization|cookie)$|token|secret|api[-_]?key|auth|password|session/i;
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/, { error: 'expected an HTTP header name' });

/**
 * `{type: webhook, url, secret_env?, timeout?, headers?, headers_from_env?}`, loaded as
 * `{type, url, secretEnv?, timeoutMs, headers?, headersFromEnv?}`.
 */
export const webhookSpec = z
  .strictObject({
    type: z.literal('webhook'),
    url: z
      .string()
      .regex(/^https?:\/\/[^\s]+$/, { error: 'expected an http:// or https:// URL' })
      .describe('Where to POST, http or https.'),
    secret_env: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'expected the NAME of an environment variable (never the secret itself)' })
      .optional()
      .describe(
        'The NAME of an environment variable holding the HMAC-SHA256 secret that signs the body (`X-Tripline-Signature`), never the secret itself.',
      ),
    timeout: DurationSchema.default('5s').describe('How long to wait for an answer; no answer is retried.'),
    headers: z
      .record(
        headerName.refine((h) => !SECRET_HEADER.test(h), {
          error:
            'a header that carries a credential: name it in headers_from_env with the environment variable holding it',
        }),
        z.string().max(4096),
      )
      .optional()
      .describe('Extra request headers, without credentials (those go in headers_from_env).'),
    headers_from_env: z
      .record(
        headerName,
        z
          .string()
          .regex(/^[A-Z_][A-Z0-9_]*$/, { error: 'expected the NAME of an environment variable (never the value)' }),
      )
      .optional()
      .describe(
        'Request headers whose values are read from environment variables at delivery (e.g. Authorization: WEBHOOK_AUTH): credentials never in rule text, only sent over https (or to loopback).',
      ),
  })
  .transform((a) => ({
    type: a.type,
    url: a.url,
    timeoutMs: parseDuration(a.timeout),
    ...(a.secret_env ? { secretEnv: a.secret_env } : {}),
    ...(a.headers ? { headers: { ...a.headers } } : {}),
    ...(a.headers_from_env ? { headersFromEnv: { ...a.headers_from_env } } : {}),
  }));

/** A webhook action as loaded. */
export type WebhookActionSpec = Readonly<z.output<typeof webhookSpec>>;

/** Version of the JSON body; bumped on incompatible changes. */
export const WEBHOOK_BODY_VERSION = 1;

/** The JSON body: the incident, the bundle's reference and headline findings, and the event. */
export function webhookBody(job: ActionJob<WebhookActionSpec>): string {
  const b = job.bundle;
  return JSON.stringify({
    version: WEBHOOK_BODY_VERSION,
    event: job.event,
    idempotencyKey: job.id,
    test: job.incident.test === true,
    dryRun: job.dryRun === true,
    incident: job.incident,
    bundle: b
      ? {
          id: b.id,
          dir: b.dir,
          tarball: b.tarball,
          partial: b.partial,
          diagnosis: b.findings.diagnosis ?? null,
          headlines: b.findings.headlines,
        }
      : null,
    detail: job.detail ?? null,
  });
}

/** `sha256=<hex>` HMAC of `body` with `secret`: what a receiver recomputes to verify the sender. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function secretOf(spec: WebhookActionSpec, env: NodeJS.ProcessEnv): string | undefined {
  if (!spec.secretEnv) return undefined;
  const v = env[spec.secretEnv];
  if (!v)
    throw new UnrecoverableError(
      `webhook ${redactUrl(spec.url)}: environment variable ${spec.secretEnv} (secret_env) is not set`,
      {
        reason: 'secret_missing',
        hint: `export ${spec.secretEnv}=<shared secret> in the engine's environment, then retry the job`,
      },
    );
  return v;
}

/** The webhook action module. */
export const webhookAction: Action<WebhookActionSpec> = {
  type: 'webhook',
  spec: webhookSpec,
  doc: {
    summary:
      'POSTs the incident, the bundle reference and its headline findings as JSON, signed when a secret is named, with an idempotency key that stays the same across retries and hosts.',
  },

  check(spec: WebhookActionSpec, _config: Readonly<Config>, env: NodeJS.ProcessEnv): void {
    let u: URL;
    try {
      u = new URL(spec.url);
    } catch {
      throw new TriplineError('ACTION_ERR_CONFIG', `webhook url is not a URL: ${redactUrl(spec.url)}`, {
        hint: 'write an absolute http(s) URL',
      });
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new TriplineError('ACTION_ERR_CONFIG', `webhook url must be http(s): ${redactUrl(spec.url)}`, {
        hint: 'use https://',
      });
    for (const [h, name] of Object.entries(spec.headersFromEnv ?? {})) {
      if (!env[name])
        throw new TriplineError(
          'ACTION_ERR_CONFIG',
          `webhook ${redactUrl(spec.url)}: headers_from_env.${h}: ${name} is not set`,
          {
            hint: `export ${name} before starting tripline`,
          },
        );
      assertCredentialTransport(spec.url, `webhook ${redactUrl(spec.url)} (headers_from_env.${h})`);
    }
    if (spec.secretEnv && !env[spec.secretEnv])
      throw new TriplineError(
        'ACTION_ERR_CONFIG',
        `webhook ${redactUrl(spec.url)}: secret_env ${spec.secretEnv} is not set`,
        { hint: `export ${spec.secretEnv} before starting tripline` },
      );
  },

  async execute(job: ActionJob<WebhookActionSpec>, ctx: ActionContext): Promise<ActionOutcome> {
    const spec = job.spec;
    const where = redactUrl(spec.url);
    const body = webhookBody(job);
    const headers: Record<string, string> = {
      ...(spec.headers ?? {}),
      'content-type': 'application/json',
      'user-agent': 'tripline',
      'x-tripline-idempotency-key': job.id,
      'x-tripline-event': job.event,
    };
    for (const [h, name] of Object.entries(spec.headersFromEnv ?? {})) {
      const value = ctx.env[name];
      if (!value)
        throw new UnrecoverableError(`webhook ${where}: headers_from_env.${h}: ${name} is not set`, {
          reason: 'no_secret',
        });
      try {
        assertCredentialTransport(spec.url, `webhook ${where}`);
      } catch (err) {
        throw new UnrecoverableError((err as Error).message, { reason: 'insecure_url' });
      }
      headers[h.toLowerCase()] = value;
    }
    const secret = secretOf(spec, ctx.env);
    if (secret) headers['x-tripline-signature'] = signBody(body, secret);
    let url: URL;
    try {
      url = new URL(spec.url);
    } catch {
      throw new UnrecoverableError(`webhook url is not a URL: ${where}`, { reason: 'bad_url' });
    }
    // fetch refuses URLs with credentials: move them to a Basic Authorization header instead.
    if (url.username || url.password) {
      headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
      url.username = '';
      url.password = '';
    }
    if (job.dryRun) return { status: 'dry-run', summary: `would POST ${body.length} bytes to ${where}` };

    const timeout = AbortSignal.timeout(spec.timeoutMs);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([ctx.signal, timeout]),
      });
    } catch (err) {
      if (timeout.aborted)
        throw new RetryableError(`webhook ${where}: no answer within ${spec.timeoutMs} ms`, { reason: 'timeout' });
      if (ctx.signal.aborted)
        throw new RetryableError(`webhook ${where}: stopped by engine shutdown`, { reason: 'aborted' });
      // Only the low-level code (ECONNREFUSED, ENOTFOUND): undici's messages may quote the request.
      const code = String((err as { cause?: { code?: string } }).cause?.code ?? 'network error');
      throw new RetryableError(`webhook ${where}: ${code}`, { reason: 'network' });
    }
    // Drain the body so the connection is reused; its text is not echoed (it may reflect our request).
    await res.arrayBuffer().catch(() => undefined);
    const s = res.status;
    if (s >= 200 && s < 300) return { status: 'delivered', summary: `POST ${where} → ${s}`, data: { status: s } };
    if (s === 429) {
      const after = res.headers.get('retry-after');
      if (after)
        throw new RateLimitedError(`webhook ${where}: 429, retry after ${after}`, parseRetryAfter(after, 1000), {
          reason: 'http_429',
        });
      throw new RetryableError(`webhook ${where}: 429 without Retry-After`, { reason: 'http_429' });
    }
    if (s === 408 || s >= 500) throw new RetryableError(`webhook ${where}: HTTP ${s}`, { reason: `http_${s}` });
    if (s >= 300 && s < 400)
      throw new UnrecoverableError(`webhook ${where}: redirected (HTTP ${s})`, {
        reason: `http_${s}`,
        hint: 'point the url at the final address; tripline does not follow redirects with a signed body',
      });
    throw new UnrecoverableError(`webhook ${where}: HTTP ${s}`, {
      reason: `http_${s}`,
      hint: 'the receiver rejected the request: check the url, headers and secret, then `tripline actions retry ID`',
    });
  },
};

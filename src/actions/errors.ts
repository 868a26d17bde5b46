/**
 * The three fates of a failed delivery. An action throws one of these; the queue (the one layer that retries)
 * decides from the class alone: retry with backoff, fail at once, or park the job for Retry-After without
 * spending an attempt. Any other error is treated as retryable.
 */
import { TriplineError } from '../errors.ts';

/** Options shared by the action errors. `reason` is a short, low-cardinality label for metrics (`http_503`, `timeout`). */
export interface ActionErrorOptions {
  readonly reason?: string;
  readonly hint?: string;
  readonly cause?: unknown;
}

/** A failure that may pass: network error, timeout, 5xx. The queue retries with exponential backoff and jitter. */
export class RetryableError extends TriplineError {
  readonly reason: string;
  constructor(message: string, opts: ActionErrorOptions = {}) {
    super('ACTION_ERR_RETRYABLE', message, {
      hint: opts.hint ?? 'the queue retries it with backoff',
      cause: opts.cause,
    });
    this.name = 'RetryableError';
    this.reason = opts.reason ?? 'retryable';
  }
}

/** A failure that retrying cannot fix (4xx, bad spec, missing secret). The job goes straight to the failed set. */
export class UnrecoverableError extends TriplineError {
  readonly reason: string;
  constructor(message: string, opts: ActionErrorOptions = {}) {
    super('ACTION_ERR_UNRECOVERABLE', message, {
      hint: opts.hint ?? 'fix the cause, then `tripline actions retry ID`',
      cause: opts.cause,
    });
    this.name = 'UnrecoverableError';
    this.reason = opts.reason ?? 'unrecoverable';
  }
}

/** The receiver asked us to wait (429 with Retry-After). The job is parked that long; no attempt is spent. */
export class RateLimitedError extends TriplineError {
  readonly reason: string;
  /** How long to wait before the next try, in milliseconds (from Retry-After; at least 1). */
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, opts: ActionErrorOptions = {}) {
    super('ACTION_ERR_RATE_LIMITED', message, {
      hint: opts.hint ?? 'the queue waits for Retry-After, then tries again',
      cause: opts.cause,
    });
    this.name = 'RateLimitedError';
    this.retryAfterMs = Math.max(1, Math.ceil(Number.isFinite(retryAfterMs) ? retryAfterMs : 1000));
    this.reason = opts.reason ?? 'rate_limited';
  }
}

/** How the queue treats an error thrown by an action. */
export type ErrorClass = 'retryable' | 'unrecoverable' | 'rate-limited';

/** Classifies any thrown value; unknown errors are retryable (a bug in an action should not lose an incident). */
export function classify(err: unknown): { kind: ErrorClass; reason: string; retryAfterMs?: number } {
  if (err instanceof RateLimitedError)
    return { kind: 'rate-limited', reason: err.reason, retryAfterMs: err.retryAfterMs };
  if (err instanceof UnrecoverableError) return { kind: 'unrecoverable', reason: err.reason };
  if (err instanceof RetryableError) return { kind: 'retryable', reason: err.reason };
  if (err instanceof TriplineError) return { kind: 'retryable', reason: err.code.toLowerCase() };
  return { kind: 'retryable', reason: 'error' };
}

/** Parses an HTTP Retry-After header (seconds or an HTTP date) to milliseconds; `fallbackMs` when absent or invalid. */
export function parseRetryAfter(value: string | null | undefined, fallbackMs: number, now = Date.now()): number {
  if (!value) return fallbackMs;
  const s = value.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.ceil(Number(s) * 1000);
  const at = Date.parse(s);
  return Number.isNaN(at) ? fallbackMs : Math.max(0, at - now);
}

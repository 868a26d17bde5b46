/** Retry delays: exponential with jitter, so many engines retrying one receiver do not hit it in step. */

/** Longest delay between two tries, whatever the attempt number. */
export const MAX_BACKOFF_MS = 10 * 60_000;

/**
 * Delay before retry number `attempt` (1 = first retry): `base * 2^(attempt-1)`, capped, then "equal jitter"
 * (uniform in [d/2, d]) so the delay never collapses to zero but spreads concurrent retries.
 */
export function backoffDelay(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const exp = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, Math.min(30, attempt - 1)));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/**
 * The life of one series (one group of a rule): inactive → pending (`for`) → firing → resolved.
 * A pure state machine over plain data (so it persists as JSON): the evaluator feeds it, each tick,
 * whether the condition holds at the trip thresholds (`active`) and at the resolve thresholds
 * (`holding`, hysteresis), and commits what `advance` asks for (a trip may be suppressed instead).
 */

/** Why a trip did not become a firing incident. */
export type SuppressReason = 'muted' | 'cooldown' | 'cap' | 'silenced' | 'inhibited';

export type Phase = 'inactive' | 'pending' | 'firing' | 'suppressed';

/** Lifecycle state of one series; JSON-safe, persisted by the state store. */
export interface SeriesState {
  phase: Phase;
  /** When the condition became true (ms); set while pending, suppressed or firing. */
  pendingSince?: number;
  firedAt?: number;
  /** While firing: since when the condition has been clear (keep_firing_for counts from here). */
  clearSince?: number;
  /** When the series last tripped (cooldown counts from here: the minimum time between two trips). */
  lastTripAt?: number;
  /** End of the previous incident. */
  lastResolvedAt?: number;
  /** Id of the firing incident. */
  incidentId?: string;
  /** While suppressed: why. */
  reason?: SuppressReason;
}

/** The lifecycle knobs of a rule. */
export interface LifecycleRule {
  readonly forMs: number;
  readonly keepFiringForMs: number;
  readonly cooldownMs: number;
}

/** What the evaluator must do after `advance`. */
export type Transition = 'none' | 'trip' | 'resolve' | 'cleared';

/**
 * Moves `s` one tick forward. Returns `trip` when the series should fire now (pending long enough, or
 * suppressed and retrying), `resolve` when a firing series is clear (for keep_firing_for), `cleared`
 * when a pending or suppressed series went back to inactive without firing.
 */
export function advance(
  s: SeriesState,
  now: number,
  active: boolean,
  holding: boolean,
  rule: LifecycleRule,
): Transition {
  switch (s.phase) {
    case 'inactive':
      if (!active) return 'none';
      s.phase = 'pending';
      s.pendingSince = now;
      return now - s.pendingSince >= rule.forMs ? 'trip' : 'none';
    case 'pending':
    case 'suppressed':
      if (!active) {
        s.phase = 'inactive';
        s.pendingSince = undefined;
        s.reason = undefined;
        return 'cleared';
      }
      return now - (s.pendingSince ?? now) >= rule.forMs ? 'trip' : 'none';
    case 'firing':
      if (holding) {
        s.clearSince = undefined;
        return 'none';
      }
      s.clearSince ??= now;
      return now - s.clearSince >= rule.keepFiringForMs ? 'resolve' : 'none';
  }
}

/** True while the series may not trip again: less than `cooldown` since its previous trip. */
export function inCooldown(s: SeriesState, now: number, rule: LifecycleRule): boolean {
  return s.lastTripAt !== undefined && now - s.lastTripAt < rule.cooldownMs;
}

/** Commits a trip: the series fires with incident `id`. */
export function markFiring(s: SeriesState, now: number, id: string): void {
  s.phase = 'firing';
  s.firedAt = now;
  s.lastTripAt = now;
  s.incidentId = id;
  s.clearSince = undefined;
  s.reason = undefined;
}

/** Commits a suppressed trip: the series keeps trying each tick while the condition holds. */
export function markSuppressed(s: SeriesState, reason: SuppressReason): void {
  s.phase = 'suppressed';
  s.reason = reason;
}

/** Commits a resolve: back to inactive (the cooldown runs on from the trip). */
export function markResolved(s: SeriesState, now: number): void {
  s.phase = 'inactive';
  s.lastResolvedAt = now;
  s.pendingSince = undefined;
  s.firedAt = undefined;
  s.clearSince = undefined;
  s.incidentId = undefined;
}

/** True when the state carries nothing worth keeping (inactive and out of cooldown). */
export function isIdle(s: SeriesState, now: number, rule: LifecycleRule): boolean {
  return s.phase === 'inactive' && !inCooldown(s, now, rule);
}

/** Per-rule trip log for the max-trips-per-hour cap: trip times within the last hour. */
export class TripLog {
  times: number[] = [];
  /** Trips in the hour before `now`. */
  count(now: number): number {
    let i = 0;
    while (i < this.times.length && this.times[i] <= now - 3_600_000) i++;
    if (i > 0) this.times.splice(0, i);
    return this.times.length;
  }
  record(now: number): void {
    this.times.push(now);
  }
}

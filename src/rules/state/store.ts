/**
 * Persistence of the evaluator's lifecycle state, so a restart neither re-alerts a firing series nor
 * forgets a pending one. Two back ends behind one interface: a JSON file (file.ts) and Redis
 * (redis.ts). The state is plain JSON: per rule, per series, the lifecycle fields and the
 * firing incident, plus the rule's trip times of the last hour.
 */
import type { Incident } from '../../incident.ts';
import type { SeriesState } from '../evaluate/lifecycle.ts';

/** Format version of the persisted state; a different version is ignored (fresh state). */
export const STATE_VERSION = 1;

/** The saved state of one series. */
export interface PersistedSeries {
  readonly state: SeriesState;
  /** The firing incident, so its resolution can be emitted after a restart. */
  readonly incident?: Incident;
}

/** The saved state of one rule. */
export interface PersistedRule {
  /** What the rule evaluates (conditions, group_by, match): state is restored only into the same identity. */
  readonly identity: string;
  /** Trip times (ms) of the last hour, for max_trips_per_hour. */
  readonly trips: readonly number[];
  readonly series: Readonly<Record<string, PersistedSeries>>;
}

/** A run-time (API) silence as saved: its spec as the API took it, validated again when restored. */
export interface PersistedSilence {
  readonly id: string;
  readonly spec: unknown;
}

/** Everything the evaluator persists. */
export interface PersistedState {
  readonly version: number;
  readonly savedAt: number;
  readonly rules: Readonly<Record<string, PersistedRule>>;
  /** Run-time silences (rule-file silences come back with the files). */
  readonly silences?: readonly PersistedSilence[];
}

/** A state back end. `load` never throws on bad content: it reports and returns undefined (fresh state). */
export interface StateStore {
  /** The last saved state, or undefined when there is none (or it was unreadable: `onError` says why). */
  load(): Promise<PersistedState | undefined>;
  /** Saves the state durably (the file back end fsyncs; Redis writes only the series that changed). */
  save(state: PersistedState): Promise<void>;
  close(): Promise<void>;
}

/** Reports a state problem that did not stop the engine (corrupt file, Redis down). */
export type StateErrorHandler = (err: Error) => void;

/** True when `x` has the shape of a PersistedState of this version (cheap structural check). */
export function isPersistedState(x: unknown): x is PersistedState {
  if (!x || typeof x !== 'object') return false;
  const o = x as Record<string, unknown>;
  if (o.version !== STATE_VERSION || typeof o.savedAt !== 'number' || !o.rules || typeof o.rules !== 'object')
    return false;
  for (const r of Object.values(o.rules as Record<string, unknown>)) {
    if (!isPersistedRule(r)) return false;
  }
  return true;
}

/** True when `r` has the shape of a PersistedRule. */
export function isPersistedRule(r: unknown): r is PersistedRule {
  if (!r || typeof r !== 'object') return false;
  const o = r as Record<string, unknown>;
  if (typeof o.identity !== 'string' || !Array.isArray(o.trips) || !o.series || typeof o.series !== 'object')
    return false;
  for (const s of Object.values(o.series as Record<string, unknown>)) {
    const st = (s as { state?: { phase?: unknown } } | null)?.state;
    if (!st || !['inactive', 'pending', 'firing', 'suppressed'].includes(st.phase as string)) return false;
  }
  return true;
}

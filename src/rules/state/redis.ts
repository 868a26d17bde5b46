/**
 * The Redis back end of the rule state: one hash per host, `<prefix>:rules:state:<host>` (hosts share
 * a Redis but each evaluates its own series, and node-level series have the same key on every host), one field per
 * series (`<rule>\u0000<series key>`) plus one per rule for its trip log and identity. A save writes only
 * the fields that changed since the previous save and deletes those that went, in one MULTI, so a
 * tick with ten thousand quiet series costs nothing.
 */
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { TriplineError } from '../../errors.ts';
import { IncidentSchema } from '../../incident-schema.ts';
import {
  STATE_VERSION,
  isPersistedRule,
  type PersistedRule,
  type PersistedState,
  type StateErrorHandler,
  type StateStore,
} from './store.ts';

const SEP = '\u0000';
/**
 * A host's state key expires this long after its last refresh: the state of a host that stopped (decommissioned,
 * renamed) does not stay in a shared Redis for ever. A running engine refreshes it at every save and hourly.
 */
export const STATE_TTL_MS = 7 * 24 * 3600_000;
const REFRESH_MS = 3600_000;
const RULE_FIELD = `${SEP}rule`;
/** The run-time silences, one field (a rule name never starts with NUL). */
const SILENCES_FIELD = `${SEP}silences`;

/** State in Redis (config.redis.url set). The client is passed in (and closed by its owner). */
export class RedisStateStore implements StateStore {
  readonly key: string;
  private readonly redis: Redis;
  private readonly onError: StateErrorHandler;
  private written = new Map<string, string>();
  private refreshed = 0;
  private readonly timer: NodeJS.Timeout;

  /** `prefix`: config.redis.prefix (default `tripline`); `host`: this engine's host name. */
  constructor(redis: Redis, prefix: string, onError: StateErrorHandler = () => {}, host: string = hostname()) {
    this.redis = redis;
    this.key = `${prefix}:rules:state:${host}`;
    this.onError = onError;
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  /** Pushes the key's expiry out again (errors are the next save's to report). */
  private async refresh(): Promise<void> {
    this.refreshed = Date.now();
    await this.redis.pexpire(this.key, STATE_TTL_MS).catch(() => undefined);
  }

  /** Splits a state into hash fields. */
  private fields(state: PersistedState): Map<string, string> {
    const out = new Map<string, string>();
    for (const [name, r] of Object.entries(state.rules)) {
      out.set(`${name}${RULE_FIELD}`, JSON.stringify({ v: STATE_VERSION, identity: r.identity, trips: r.trips }));
      for (const [key, s] of Object.entries(r.series)) out.set(`${name}${SEP}${key}`, JSON.stringify(s));
    }
    if (state.silences?.length) out.set(SILENCES_FIELD, JSON.stringify(state.silences));
    return out;
  }

  async load(): Promise<PersistedState | undefined> {
    let h: Record<string, string>;
    try {
      h = await this.redis.hgetall(this.key);
    } catch (err) {
      this.onError(
        new TriplineError(
          'RULE_ERR_STATE',
          `cannot read rule state from Redis key ${this.key}: ${(err as Error).message}`,
          { hint: 'check redis.url; starting with fresh state', cause: err },
        ),
      );
      return undefined;
    }
    const rules: Record<string, { identity: string; trips: number[]; series: Record<string, unknown> }> = {};
    let bad = 0;
    let silences: { id: string; spec: unknown }[] | undefined;
    for (const [field, text] of Object.entries(h)) {
      if (field === SILENCES_FIELD) {
        // Shape only: each silence's spec is validated again by the evaluator as it restores it.
        try {
          const v: unknown = JSON.parse(text);
          if (Array.isArray(v))
            silences = v.filter(
              (x): x is { id: string; spec: unknown } => !!x && typeof x === 'object' && typeof x.id === 'string',
            );
          else bad++;
        } catch {
          bad++;
        }
        continue;
      }
      const i = field.indexOf(SEP);
      if (i <= 0) {
        bad++;
        continue;
      }
      const name = field.slice(0, i);
      let value: any;
      try {
        value = JSON.parse(text);
      } catch {
        bad++;
        continue;
      }
      const r = (rules[name] ??= { identity: '', trips: [], series: {} });
      if (field.slice(i) === RULE_FIELD) {
        if (value?.v !== STATE_VERSION) {
          bad++;
          continue;
        }
        r.identity = String(value.identity);
        r.trips = Array.isArray(value.trips) ? value.trips.filter((t: unknown) => typeof t === 'number') : [];
      } else {
        // A firing incident comes back as the resolve's subject: from Redis, it is validated like any input.
        if (value?.incident !== undefined && !IncidentSchema.safeParse(value.incident).success) {
          bad++;
          continue;
        }
        r.series[field.slice(i + 1)] = value;
      }
    }
    const good: Record<string, PersistedRule> = {};
    for (const [name, r] of Object.entries(rules)) {
      if (isPersistedRule(r)) good[name] = r;
      else bad++;
    }
    if (bad)
      this.onError(
        new TriplineError('RULE_ERR_STATE', `${bad} unreadable entries in Redis key ${this.key} were ignored`, {
          hint: 'they are overwritten on the next save',
        }),
      );
    this.written = new Map(Object.entries(h));
    return { version: STATE_VERSION, savedAt: Date.now(), rules: good, ...(silences ? { silences } : {}) };
  }

  async save(state: PersistedState): Promise<void> {
    const next = this.fields(state);
    const set: string[] = [];
    const del: string[] = [];
    for (const [f, v] of next) if (this.written.get(f) !== v) set.push(f, v);
    for (const f of this.written.keys()) if (!next.has(f)) del.push(f);
    if (set.length === 0 && del.length === 0) {
      if (Date.now() - this.refreshed > REFRESH_MS) await this.refresh();
      return;
    }
    const tx = this.redis.multi();
    if (set.length) tx.hset(this.key, ...set);
    if (del.length) tx.hdel(this.key, ...del);
    tx.pexpire(this.key, STATE_TTL_MS);
    this.refreshed = Date.now();
    try {
      const res = await tx.exec();
      const failed = res?.find(([e]) => e);
      if (!res || failed) throw failed?.[0] ?? new Error('transaction aborted');
    } catch (err) {
      throw new TriplineError(
        'RULE_ERR_STATE',
        `cannot write rule state to Redis key ${this.key}: ${(err as Error).message}`,
        { hint: 'check that Redis is up and not out of memory (maxmemory-policy noeviction)', cause: err },
      );
    }
    this.written = next;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }
}

/**
 * Trip generations: what makes the job ids of a new trip of a series differ from those of its last trip, while
 * every engine reporting the same trip still derives the same ids.
 *
 * Without it, a series that trips, resolves and trips again within `actions.dedup_window` would have its second
 * trip deduplicated away (same key, same event). Each incident key has a generation `g` in the ActionStore
 * (shared through Redis): a `firing` while the trip is closed opens generation g+1, `resolved` closes g, other
 * events use the current g. The computation is deterministic (every engine that sees "closed at g" picks g+1), so
 * racing engines agree without a lock. When the store cannot be read (Redis down) and this process has no
 * memory of the key, the incident's own id is used instead: a possible duplicate, never a lost trip.
 */
import { createHash } from 'node:crypto';
import type { ActionJobInput, ActionStore } from './types.ts';

/** Trip states remembered in this process for when the store is unreachable. */
const MIRROR_MAX = 10_000;
/** A trip state outlives the dedup window, so a generation never restarts while old job ids still dedup. */
const MIN_STATE_TTL_MS = 30 * 24 * 3600_000;

interface TripState {
  g: number;
  open: boolean;
}

/** Assigns the trip part of job seqs. */
export class TripTracker {
  private readonly store: ActionStore;
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  private readonly mirror = new Map<string, TripState>();
  private readonly available: () => boolean;

  /** `available` says when the store is known to be down (skip it at once instead of waiting `timeoutMs`). */
  constructor(store: ActionStore, dedupWindowMs: number, timeoutMs = 2000, available: () => boolean = () => true) {
    this.store = store;
    this.available = available;
    this.ttlMs = Math.max(MIN_STATE_TTL_MS, 2 * dedupWindowMs);
    this.timeoutMs = timeoutMs;
  }

  private keyOf(incidentKey: string): string {
    return `trip:${createHash('sha256').update(incidentKey).digest('hex').slice(0, 32)}`;
  }

  private remember(k: string, s: TripState): void {
    this.mirror.delete(k);
    this.mirror.set(k, s);
    if (this.mirror.size > MIRROR_MAX) this.mirror.delete(this.mirror.keys().next().value!);
  }

  private async timed<T>(p: Promise<T>): Promise<T> {
    let t: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        p,
        new Promise<never>((_, reject) => {
          t = setTimeout(() => reject(new Error('store timeout')), this.timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(t);
      p.catch(() => undefined);
    }
  }

  /** The input with its seq prefixed by the trip (`t3` or `t3-<seq>`; `i<incident id>` when the store is unreachable). */
  async assign(input: ActionJobInput): Promise<ActionJobInput> {
    const k = this.keyOf(input.incident.key);
    let state: TripState | undefined;
    let reachable = true;
    try {
      if (!this.available()) throw new Error('store down');
      const raw = await this.timed(this.store.get(k));
      if (raw) {
        const [g, s] = raw.split(':');
        state = { g: Number(g) || 0, open: s === 'open' };
      }
    } catch {
      reachable = false;
      state = this.mirror.get(k);
      if (!state) return { ...input, seq: `i${input.incident.id}${input.seq ? `-${input.seq}` : ''}` };
    }
    let next: TripState;
    if (input.event === 'firing') next = state?.open ? state : { g: (state?.g ?? 0) + 1, open: true };
    else if (input.event === 'resolved') next = { g: state?.g || 1, open: false };
    else next = state ?? { g: 1, open: true };
    if (!state || next.g !== state.g || next.open !== state.open) {
      if (reachable)
        await this.timed(this.store.set(k, `${next.g}:${next.open ? 'open' : 'closed'}`, this.ttlMs)).catch(
          () => undefined,
        );
    }
    this.remember(k, next);
    return { ...input, seq: `t${next.g}${input.seq ? `-${input.seq}` : ''}` };
  }
}

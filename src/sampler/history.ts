/**
 * Rolling per-cgroup history of tick values (counter deltas, gauge values, histogram count and sum deltas) for
 * before/after comparisons in bundles. Memory is bounded: a ring of `capacity` ticks, Float32 columns per cgroup and
 * value key, at most `maxCgroups` cgroups and `maxKeys` keys per cgroup (1,000 cgroups × 6 keys × 300 ticks ≈ 8 MB).
 */

/** One tick of one cgroup: values keyed like `cpu_throttled_seconds` or `runq_delay_seconds_count`. */
export interface HistoryPoint {
  readonly at: number;
  readonly values: Readonly<Record<string, number>>;
}

/** One cgroup's total of a counter signal over a window (in the twin's unit: slow calls, bytes). */
export interface Contribution {
  readonly cgroupId: string;
  /** Cgroup path ('' when unknown). */
  readonly cgroup: string;
  readonly value: number;
}

interface CgroupRing {
  lastSeq: number;
  /** Tick sequence number written in each slot (0 = never): a slot is valid when it equals the global one. */
  readonly slotSeq: Uint32Array;
  readonly keys: Map<string, Float32Array>;
}

export class CgroupHistory {
  readonly capacity: number;
  private readonly maxCgroups: number;
  private readonly maxKeys: number;
  private readonly at: Float64Array;
  private readonly seqOf: Uint32Array;
  private seq = 0;
  private readonly rings = new Map<string, CgroupRing>();
  private lastId = '';
  private lastRing: CgroupRing | undefined;
  /** Values not kept because a cap was reached. */
  dropped = 0;

  /** `capacity`: ticks kept (history / tick). @defaultValue maxCgroups 2000, maxKeys 32 */
  constructor(capacity: number, opts: { maxCgroups?: number; maxKeys?: number } = {}) {
    this.capacity = Math.max(1, Math.floor(capacity));
    this.maxCgroups = opts.maxCgroups ?? 2000;
    this.maxKeys = opts.maxKeys ?? 32;
    this.at = new Float64Array(this.capacity);
    this.seqOf = new Uint32Array(this.capacity);
  }

  /** Records one tick: cgroup id → key → value (convenience over beginTick/put/endTick). */
  record(at: number, values: ReadonlyMap<string, ReadonlyMap<string, number>>): void {
    this.beginTick(at);
    for (const [id, kv] of values) for (const [k, v] of kv) this.put(id, k, v);
    this.endTick();
  }

  /** Starts a tick: the following put() calls fill its slot. */
  beginTick(at: number): void {
    const seq = ++this.seq;
    const slot = seq % this.capacity;
    this.at[slot] = at;
    this.seqOf[slot] = seq;
  }

  /** One value of a cgroup in the current tick (no allocation once the cgroup and key have their columns). */
  put(cgroupId: string, key: string, value: number): void {
    const seq = this.seq;
    const slot = seq % this.capacity;
    // Families emit a cgroup's series one after another: the last ring usually hits.
    let ring = this.lastId === cgroupId ? this.lastRing : this.rings.get(cgroupId);
    if (!ring) {
      if (this.rings.size >= this.maxCgroups) {
        this.dropped++;
        return;
      }
      ring = { lastSeq: 0, slotSeq: new Uint32Array(this.capacity), keys: new Map() };
      this.rings.set(cgroupId, ring);
    }
    this.lastId = cgroupId;
    this.lastRing = ring;
    if (ring.slotSeq[slot] !== seq) {
      ring.lastSeq = seq;
      ring.slotSeq[slot] = seq;
      // Keys of this cgroup without a value this tick read NaN (not a stale value from a lap ago).
      for (const col of ring.keys.values()) col[slot] = NaN;
    }
    let col = ring.keys.get(key);
    if (!col) {
      if (ring.keys.size >= this.maxKeys) {
        this.dropped++;
        return;
      }
      col = new Float32Array(this.capacity).fill(NaN);
      ring.keys.set(key, col);
    }
    col[slot] = value;
  }

  /** Ends the tick: cgroups silent for a whole window are forgotten. */
  endTick(): void {
    for (const [id, ring] of this.rings) if (this.seq - ring.lastSeq >= this.capacity) this.rings.delete(id);
    this.lastId = '';
    this.lastRing = undefined;
  }

  /** Points of a cgroup at or after `sinceMs`, oldest first; NaN values are left out. */
  query(cgroupId: string, sinceMs: number): HistoryPoint[] {
    const ring = this.rings.get(cgroupId);
    if (!ring) return [];
    const out: HistoryPoint[] = [];
    const first = Math.max(1, this.seq - this.capacity + 1);
    for (let seq = first; seq <= this.seq; seq++) {
      const slot = seq % this.capacity;
      if (ring.slotSeq[slot] !== seq || this.at[slot] < sinceMs) continue;
      const values: Record<string, number> = {};
      for (const [k, col] of ring.keys) if (!Number.isNaN(col[slot])) values[k] = col[slot];
      out.push({ at: this.at[slot], values });
    }
    return out;
  }

  /** Per cgroup, the sum of `key`'s values at ticks in [sinceMs, untilMs] (cgroups without any are left out). */
  totals(key: string, sinceMs: number, untilMs: number): Map<string, number> {
    const out = new Map<string, number>();
    const first = Math.max(1, this.seq - this.capacity + 1);
    for (const [id, ring] of this.rings) {
      const col = ring.keys.get(key);
      if (!col) continue;
      let sum = 0;
      let any = false;
      for (let seq = first; seq <= this.seq; seq++) {
        const slot = seq % this.capacity;
        const at = this.at[slot];
        if (ring.slotSeq[slot] !== seq || at < sinceMs || at > untilMs || Number.isNaN(col[slot])) continue;
        sum += col[slot];
        any = true;
      }
      if (any) out.set(id, sum);
    }
    return out;
  }

  /** Cgroups with history now. */
  get size(): number {
    return this.rings.size;
  }
}

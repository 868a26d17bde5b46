/**
 * Scale guards in the shared action store (Redis SET NX PX when the queue is on Redis, memory otherwise):
 * a cooldown per workload, so one incident storm scales once per cooldown, and a claim per incident key, so two
 * engines (or a retried job) reporting the same incident scale once. The claim records the planned change
 * before the PATCH, so a retry after a crash re-applies the same absolute replica count instead of stepping again.
 */
import type { ActionStore } from '../types.ts';

/** What the claim of an incident key holds. */
export interface ScaleClaim {
  /** The incident (trip) that holds the claim; a retry of the same trip resumes it. */
  readonly incident: string;
  readonly state: 'planned' | 'done' | 'skipped';
  readonly workload?: string;
  readonly from?: number;
  readonly to?: number;
  readonly via?: 'replicas' | 'hpa-min';
  /** The HPA's minReplicas when this trip planned (what a restore goes back to when no raise stood before). */
  readonly hpaMin?: number;
  readonly summary?: string;
}

/** The guards over one store. */
export class ScaleGuards {
  readonly #store: ActionStore;

  constructor(store: ActionStore) {
    this.#store = store;
  }

  /**
   * Claims an incident key for `ttlMs`. Returns `mine` (new claim, or this trip's own claim from an earlier try,
   * with what it recorded) or `taken` (another trip or host holds it, with its record).
   */
  async claim(
    incidentKey: string,
    incidentId: string,
    ttlMs: number,
  ): Promise<{ owner: 'mine' | 'taken'; claim: ScaleClaim }> {
    const key = `scale:claim:${incidentKey}`;
    const fresh: ScaleClaim = { incident: incidentId, state: 'planned' };
    if (await this.#store.setIfAbsent(key, JSON.stringify(fresh), ttlMs)) return { owner: 'mine', claim: fresh };
    const raw = await this.#store.get(key);
    // Expired between the two calls: claim again.
    if (!raw)
      return (await this.#store.setIfAbsent(key, JSON.stringify(fresh), ttlMs))
        ? { owner: 'mine', claim: fresh }
        : this.claim(incidentKey, incidentId, ttlMs);
    const held = JSON.parse(raw) as ScaleClaim;
    return { owner: held.incident === incidentId ? 'mine' : 'taken', claim: held };
  }

  /** Updates this trip's claim (planned change, then the result). */
  async record(incidentKey: string, claim: ScaleClaim, ttlMs: number): Promise<void> {
    await this.#store.set(`scale:claim:${incidentKey}`, JSON.stringify(claim), ttlMs);
  }

  /** Starts a workload's cooldown; false when one is running (`holder` says for which incident key). */
  async startCooldown(
    workload: string,
    incidentKey: string,
    ttlMs: number,
  ): Promise<{ started: boolean; holder?: string }> {
    const key = `scale:cooldown:${workload}`;
    if (await this.#store.setIfAbsent(key, incidentKey, ttlMs)) return { started: true };
    const holder = await this.#store.get(key);
    // The same incident key started it (a retry after the cooldown was set): go on.
    return holder === incidentKey ? { started: true } : { started: false, holder };
  }

  /** Ends a cooldown this incident key started without scaling (nothing changed, so the next incident may try). */
  async releaseCooldown(workload: string): Promise<void> {
    await this.#store.del(`scale:cooldown:${workload}`);
  }

  /** Marks the incident key resolved (the default verification probe reads it). */
  async markResolved(incidentKey: string, at: string, ttlMs: number): Promise<void> {
    await this.#store.set(`scale:resolved:${incidentKey}`, at, ttlMs);
  }

  /** When the incident key was last resolved, if it was. */
  async resolvedAt(incidentKey: string): Promise<string | undefined> {
    return this.#store.get(`scale:resolved:${incidentKey}`);
  }
}

/**
 * Restoring a raised HPA minReplicas. When the scale action raises an HPA's floor it records a *raise* per workload
 * in the shared action store: the HPA, the floor before the first raise (`original`), the floor tripline set last
 * (`set`), and the incident keys that hold it (those that raised it or fired on the workload while it was raised).
 * A holder's `resolved` schedules a restore job at `resolvedAt + restore_after`; the job restores only when no
 * holder still fires and no later resolution is still cooling down, and only when the HPA still has `set`:
 * someone who changed it meanwhile wins. Every step is under a short per-workload lock in the store, and the restore
 * itself is claimed per raise generation, so two hosts, a retry or two incidents restore once, to the original.
 */
import { z } from 'zod';
import type { KubeClient } from '../../kube/client.ts';
import { KubeHttpError } from '../../kube/client.ts';
import { RetryableError } from '../errors.ts';
import type { ActionStore } from '../types.ts';
import { hpaPatch, hpaPath, type Hpa } from './hpa.ts';

/** A raise lives this long at most: a holder whose resolution never comes (rule removed) does not hold it forever. */
const RAISE_TTL_MS = 7 * 24 * 3600_000;
/** Holders kept per raise (an incident storm on one workload): past it the oldest resolved ones are dropped. */
const MAX_HOLDERS = 64;
/**
 * The per-workload lock: how long it lives (a crashed holder frees it; longer than a Kubernetes call's 10 s timeout)
 * and how long a step waits for it.
 */
const LOCK_TTL_MS = 30_000;
/**
 * Due times closer than this count as due: a delayed job computed on one host may run on another whose clock is a
 * little behind, and a restore job that waits for itself would never come back.
 */
const CLOCK_SLACK_MS = 5_000;
const LOCK_WAIT_MS = 35_000;

/** A workload id as workloadId() writes it (the store is Redis data: checked before it names keys or messages). */
const WORKLOAD_ID =
  /^(Deployment|StatefulSet)\/[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

/** A DNS-1123 name, as namespaces and HPA names are. */
const DNS_NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

const RaiseSchema = z
  .strictObject({
    /** The raise generation: the id of the incident that raised it first (restores are claimed per generation). */
    gen: z.string().max(512),
    hpa: z.strictObject({ namespace: z.string().regex(DNS_NAME), name: z.string().regex(DNS_NAME) }),
    original: z.number().int().min(0).max(100_000),
    set: z.number().int().min(1).max(100_000),
    holders: z.record(z.string().max(8192), z.strictObject({ firing: z.boolean(), dueAt: z.number().optional() })),
  })
  // tripline only ever raised the floor: a record that would raise it on "restore" is not one tripline wrote.
  .refine((r) => r.original < r.set, { message: 'original must be below set' });

/** A raise of one workload's HPA floor. */
export type Raise = z.output<typeof RaiseSchema>;

/** What a restore job did: `restored`, or why not (`wait` means another job will). */
export type RestoreResult =
  | { readonly did: 'restored'; readonly raise: Raise }
  | { readonly did: 'changed'; readonly raise: Raise; readonly now: number }
  | { readonly did: 'firing'; readonly raise: Raise; readonly keys: readonly string[] }
  | { readonly did: 'none' }
  | { readonly did: 'wait' }
  | { readonly did: 'gone' }
  | { readonly did: 'foreign'; readonly raise: Raise }
  | { readonly did: 'taken' };

/** The raises in one store. */
export class Raises {
  readonly #store: ActionStore;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(
    store: ActionStore,
    sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.#store = store;
    this.#sleep = sleep;
  }

  /** The raise of a workload, if any (a damaged record reads as none: it is Redis data). */
  async get(workload: string): Promise<Raise | undefined> {
    const raw = await this.#store.get(`scale:raise:${workload}`);
    if (!raw) return undefined;
    try {
      const r = RaiseSchema.parse(JSON.parse(raw));
      // The HPA of a workload lives in the workload's namespace: a record naming another is not one tripline wrote.
      return r.hpa.namespace === workload.split('/')[1] ? r : undefined;
    } catch {
      return undefined;
    }
  }

  async #put(workload: string, r: Raise): Promise<void> {
    const entries = Object.entries(r.holders);
    if (entries.length > MAX_HOLDERS) {
      const firing = entries.filter(([, h]) => h.firing);
      const done = entries.filter(([, h]) => !h.firing).sort((a, b) => (b[1].dueAt ?? 0) - (a[1].dueAt ?? 0));
      r = { ...r, holders: Object.fromEntries([...firing, ...done].slice(0, MAX_HOLDERS)) };
    }
    await this.#store.set(`scale:raise:${workload}`, JSON.stringify(r), RAISE_TTL_MS);
  }

  /** Runs `fn` holding the workload's lock (RetryableError when it stays taken: the queue tries again later). */
  async locked<T>(workload: string, fn: () => Promise<T>): Promise<T> {
    const key = `scale:lock:${workload}`;
    const token = `${process.pid}-${Math.random().toString(36).slice(2)}`;
    for (let waited = 0; !(await this.#store.setIfAbsent(key, token, LOCK_TTL_MS)); waited += 100) {
      if (waited >= LOCK_WAIT_MS)
        throw new RetryableError(`scale: ${workload} is locked by another step`, { reason: 'locked' });
      await this.#sleep(100);
    }
    try {
      return await fn();
    } finally {
      if ((await this.#store.get(key)) === token) await this.#store.del(key);
    }
  }

  /** The workload an incident key holds a raise of (set when it joins one); anything but a workload id reads as none. */
  async workloadOf(incidentKey: string): Promise<string | undefined> {
    const w = await this.#store.get(`scale:raised-by:${incidentKey}`);
    return w !== undefined && WORKLOAD_ID.test(w) ? w : undefined;
  }

  async #join(workload: string, incidentKey: string, r: Raise): Promise<void> {
    await this.#put(workload, { ...r, holders: { ...r.holders, [incidentKey]: { firing: true } } });
    await this.#store.set(`scale:raised-by:${incidentKey}`, workload, RAISE_TTL_MS);
  }

  /** A firing incident on the workload: while a raise stands, it holds it too (call under `locked`). */
  async noteFiring(workload: string, incidentKey: string): Promise<boolean> {
    const r = await this.get(workload);
    if (r) await this.#join(workload, incidentKey, r);
    return r !== undefined;
  }

  /**
   * tripline set the HPA's floor to `set` for `incidentKey` (call under `locked`); `before` is the floor it had when
   * this incident planned, the original when no raise stands yet.
   */
  async noteRaise(
    workload: string,
    incidentKey: string,
    gen: string,
    hpa: Hpa,
    before: number,
    set: number,
  ): Promise<void> {
    const r = await this.get(workload);
    const base: Raise = r ?? {
      gen,
      hpa: { namespace: hpa.namespace, name: hpa.name },
      original: before,
      set,
      holders: {},
    };
    await this.#join(workload, incidentKey, { ...base, set });
  }

  /** A holder resolved: it no longer holds the raise, from `dueAt` on (call under `locked`). False: not a holder. */
  async noteResolved(workload: string, incidentKey: string, dueAt: number): Promise<boolean> {
    const r = await this.get(workload);
    if (!r?.holders[incidentKey]) return false;
    await this.#put(workload, { ...r, holders: { ...r.holders, [incidentKey]: { firing: false, dueAt } } });
    return true;
  }

  /**
   * The restore job of `incidentKey` (call under `locked`): restores the floor when this key holds the raise, no
   * holder fires, every holder's cooldown has passed and the HPA still has what tripline set.
   */
  async restore(client: KubeClient, workload: string, incidentKey: string, now: number): Promise<RestoreResult> {
    const r = await this.get(workload);
    if (!r || !r.holders[incidentKey]) return { did: 'none' };
    const firing = Object.entries(r.holders)
      .filter(([, h]) => h.firing)
      .map(([k]) => k);
    if (firing.length) return { did: 'firing', raise: r, keys: firing };
    // A holder that resolved later has its own job, due later: that one restores.
    if (Object.values(r.holders).some((h) => (h.dueAt ?? 0) > now + CLOCK_SLACK_MS)) return { did: 'wait' };
    const claim = `scale:restore:${workload}:${r.gen}`;
    if (
      !(await this.#store.setIfAbsent(claim, incidentKey, RAISE_TTL_MS)) &&
      (await this.#store.get(claim)) !== incidentKey
    )
      return { did: 'taken' };
    let current: number;
    try {
      const h = await client.get<{
        spec?: { minReplicas?: number; scaleTargetRef?: { kind?: string; name?: string } };
      }>(hpaPath(r.hpa));
      // Only the HPA that scales this workload: the record is store data, the HPA's own target is the API server's.
      const [kind, , name] = workload.split('/');
      const ref = h.spec?.scaleTargetRef;
      if (ref?.kind !== kind || ref?.name !== name) {
        await this.#store.del(`scale:raise:${workload}`);
        return { did: 'foreign', raise: r };
      }
      current = h.spec?.minReplicas ?? 1;
    } catch (err) {
      if (err instanceof KubeHttpError && err.status === 404) {
        await this.#store.del(`scale:raise:${workload}`);
        return { did: 'gone' };
      }
      throw err;
    }
    // Our own earlier try got through before it could record it (the claim is ours): done already.
    if (current === r.original && current !== r.set) {
      await this.#store.del(`scale:raise:${workload}`);
      return { did: 'restored', raise: r };
    }
    if (current !== r.set) {
      await this.#store.del(`scale:raise:${workload}`);
      return { did: 'changed', raise: r, now: current };
    }
    await client.patch(hpaPath(r.hpa), hpaPatch(r.original));
    await this.#store.del(`scale:raise:${workload}`);
    return { did: 'restored', raise: r };
  }
}

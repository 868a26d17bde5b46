/**
 * Verification after a scale: when it scales, the action re-reads the rule's conditions for the workload's series on
 * the probe side (`before`), keeps a pending verification in the shared store and schedules a `verify` job at the
 * end of the window (a delayed job: it survives a restart). That job re-reads the signal (`after`) and reports
 * recovered or not recovered with both values into the thread; one that runs late (tripline was down at its due
 * time) says so. Without a reading (no probe side, rule reloaded away, no series) it judges by whether the incident
 * resolved, and says the signal could not be re-read.
 */
import { z } from 'zod';
import type { IncidentTarget } from '../../incident.ts';
import { SignalQuerySchema, SignalReadingSchema, type SignalQuery, type SignalReading } from '../../signal-read.ts';
import type { ActionStore, EventDetail } from '../types.ts';
import type { WorkloadRef } from './owner.ts';

/** A verification that runs this much after its due time was held up (tripline down): it says so. */
export const LATE_MS = 60_000;

const PendingSchema = z.strictObject({
  /** The trip that scaled (a later trip of the same key has its own verification). */
  incident: z.string().max(512),
  /** What was scaled, for messages: `Deployment/shop/web 2 → 3`. */
  change: z.string().max(1024),
  scaledAt: z.number(),
  due: z.number(),
  query: SignalQuerySchema,
  /** The reading when it scaled, if the probe side answered. */
  before: SignalReadingSchema.optional(),
  /** The incident's value at the trip (the "before" when no reading was made). */
  tripValue: z.number().nullable(),
});

/** A pending verification, as stored. */
export type Pending = z.output<typeof PendingSchema>;

/** The verdict reported. `overdue`: the check ran late (tripline was down at its due time); values as of now. */
export type Verdict = 'recovered' | 'not-recovered' | 'overdue';

/** Pending verifications in the shared action store (one per incident key). */
export class Verifications {
  readonly #store: ActionStore;
  constructor(store: ActionStore) {
    this.#store = store;
  }

  /** Records a pending verification; it outlives its due time by a week (a long outage still reports). */
  async start(incidentKey: string, p: Pending): Promise<void> {
    await this.#store.set(`scale:verify:${incidentKey}`, JSON.stringify(p), p.due - p.scaledAt + 7 * 24 * 3600_000);
  }

  /** The pending verification of a key, if any (a damaged record reads as none: it is Redis data). */
  async get(incidentKey: string): Promise<Pending | undefined> {
    const raw = await this.#store.get(`scale:verify:${incidentKey}`);
    if (!raw) return undefined;
    try {
      return PendingSchema.parse(JSON.parse(raw));
    } catch {
      return undefined;
    }
  }

  async done(incidentKey: string): Promise<void> {
    await this.#store.del(`scale:verify:${incidentKey}`);
  }
}

/**
 * How to pick the workload's series, most specific to the workload first: by workload name where series carry one
 * (`namespace` + `workload`, in the spellings a workload label may take), then the incident's pod, then its cgroup.
 */
export function seriesMatch(w: WorkloadRef, target: IncidentTarget): SignalQuery['match'] {
  const out: SignalQuery['match'] = [
    {
      namespace: [w.namespace],
      workload: [
        w.name,
        `${w.kind}/${w.name}`,
        `${w.kind}/${w.namespace}/${w.name}`,
        `${w.kind.toLowerCase()}/${w.name}`,
      ],
    },
  ];
  if (target.pod?.uid) out.push({ pod_uid: [target.pod.uid] });
  if (target.cgroupId) out.push({ cgroup_id: [target.cgroupId] });
  return out;
}

/** A value for a message: 3 significant digits, `no data` for null. */
function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined) return 'no data';
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6)) return v.toExponential(2);
  return String(Number(v.toPrecision(3)));
}

/** A usable reading: the rule was found and some series had data. */
function usable(r: SignalReading | undefined): r is SignalReading & { breaching: boolean } {
  return r !== undefined && r.found && r.matched >= 0 && r.breaching !== null && r.leaves.length > 0;
}

/** What a verification judges from. */
export interface JudgeInput {
  readonly pending: Pending;
  /** The reading now; undefined when the probe side could not be asked. */
  readonly after: SignalReading | undefined;
  /** Why there is no usable reading, for the message. */
  readonly why?: string;
  /** The incident resolved after the trip (the fallback when the signal cannot be re-read). */
  readonly resolved: boolean;
  readonly now: number;
}

/** The verdict and the thread message (pure). */
export function judge(i: JudgeInput): { verdict: Verdict; recovered: boolean; detail: EventDetail } {
  const { pending: p, after } = i;
  const secs = Math.round((p.due - p.scaledAt) / 1000);
  const span = secs >= 60 && secs % 60 === 0 ? `${secs / 60} min` : `${secs}s`;
  const late = i.now - p.due > LATE_MS ? Math.round((i.now - p.due) / 1000) : 0;
  let recovered: boolean;
  let evidence: string;
  let before: number | null = null;
  let now: number | null = null;
  if (usable(after)) {
    const leaf = after.leaves[0];
    const b = usable(p.before) ? p.before.leaves[0].value : p.tripValue;
    before = b;
    now = leaf.value;
    recovered = !after.breaching;
    const when = usable(p.before) ? 'before scaling' : 'at the trip';
    evidence = `${leaf.stat} of ${leaf.signal} over ${Math.round(leaf.windowMs / 1000)}s was ${fmt(b)} ${when}, ${fmt(leaf.value)} now (trips ${leaf.op} ${leaf.thresholdText}; ${after.series} series)`;
  } else {
    recovered = i.resolved;
    evidence = `${recovered ? 'the incident resolved' : 'the incident has not resolved'} (the signal could not be re-read: ${i.why ?? 'no reading'})`;
  }
  const verdict: Verdict = late ? 'overdue' : recovered ? 'recovered' : 'not-recovered';
  const text = late
    ? `Verification of ${p.change} was due ${late}s ago, while tripline was not running; checked now: ${recovered ? 'recovered' : 'still breaching'}, ${evidence}.`
    : recovered
      ? `Recovered ${span} after scaling ${p.change}: ${evidence}.`
      : `Not recovered ${span} after scaling ${p.change}: still breaching, ${evidence}. Look at the bundle; the limit or the node may be the problem.`;
  return {
    verdict,
    recovered,
    detail: {
      kind: late ? 'verify-overdue' : recovered ? 'recovered' : 'not-recovered',
      text,
      verdict,
      seconds: secs,
      before,
      after: now,
    },
  };
}

/** Why a reading is not usable, for the message. */
export function unusable(r: SignalReading | undefined, rule: string): string {
  if (!r) return 'no probe side to ask';
  if (!r.found) return `rule ${rule} is not loaded on the probe side`;
  if (r.matched < 0) return "no series of the rule matched the workload's pods";
  return 'no data in the window';
}

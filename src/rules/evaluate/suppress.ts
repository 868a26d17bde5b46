/**
 * Silences and inhibitions, and the ledger of every suppressed trip. A trip that does not become a
 * firing incident (muted, cooldown, cap, silenced, inhibited) is counted per reason, passed to the
 * `onSuppressed` hook (the metrics exporter) and listed by `suppressed()` until the series clears
 * or fires: nothing is dropped silently.
 */
import type { Incident } from '../../incident.ts';
import type { Labels } from '../../samples.ts';
import type { Inhibition, Silence } from '../types.ts';
import type { SuppressReason } from './lifecycle.ts';
import { compileMatchers, type LabelPredicate } from '../compile/matchers.ts';
import { TriplineError } from '../../errors.ts';

/** A suppressed trip as listed by `suppressed()`. */
export interface SuppressedTrip {
  readonly incident: Incident;
  readonly reason: SuppressReason;
  /** Silence id, inhibition name, mute cron, or a short explanation. */
  readonly detail: string;
  /** When this suppression started (ms). */
  readonly since: number;
}

/** The silences API: add and remove silences at run time (the HTTP API calls these). */
export interface SilenceApi {
  add(s: Silence): void;
  remove(id: string): boolean;
  list(now?: number): Silence[];
}

interface CompiledSilence {
  readonly silence: Silence;
  readonly test: LabelPredicate;
}
interface CompiledInhibition {
  readonly inhibition: Inhibition;
  readonly source: LabelPredicate;
  readonly target: LabelPredicate;
}

/** Silences, inhibitions and the suppression ledger of one evaluator. */
export class Suppressor implements SilenceApi {
  private readonly fromRules = new Map<string, CompiledSilence>();
  private readonly fromApi = new Map<string, CompiledSilence>();
  private inhibitions: CompiledInhibition[] = [];
  private readonly ledger = new Map<string, SuppressedTrip>();
  /** Suppressed trips since start, per reason. */
  readonly counts: Record<SuppressReason, number> = { muted: 0, cooldown: 0, cap: 0, silenced: 0, inhibited: 0 };
  /** Called once per suppressed trip (and again when its reason changes). */
  onSuppressed?: (trip: SuppressedTrip) => void;

  /** Replaces the silences and inhibitions that come from rule files (API silences stay). */
  setFromRules(silences: readonly Silence[], inhibitions: readonly Inhibition[]): void {
    this.fromRules.clear();
    for (const s of silences) this.fromRules.set(s.id, { silence: s, test: compileMatchers(s.matchers) });
    this.inhibitions = inhibitions.map((i) => ({
      inhibition: i,
      source: compileMatchers(i.sourceMatch),
      target: compileMatchers(i.targetMatch),
    }));
  }

  /** Adds (or replaces) a run-time silence. */
  add(s: Silence): void {
    if (!(s.endsAt > s.startsAt))
      throw new TriplineError('RULE_ERR_SCHEMA', `silence ${s.id}: ends_at must be after starts_at`, {
        hint: 'give the silence an end later than its start',
      });
    if (Object.keys(s.matchers).length === 0)
      throw new TriplineError('RULE_ERR_SCHEMA', `silence ${s.id}: no matchers`, {
        hint: 'a silence needs at least one label matcher (e.g. rule: cpu-throttling)',
      });
    this.fromApi.set(s.id, { silence: s, test: compileMatchers(s.matchers) });
  }

  /** Removes a run-time silence; false when there is none with that id. */
  remove(id: string): boolean {
    return this.fromApi.delete(id);
  }

  /** Every silence (rule files and API); with `now`, only those active then. */
  list(now?: number): Silence[] {
    const all = [...this.fromRules.values(), ...this.fromApi.values()].map((c) => c.silence);
    return now === undefined ? all : all.filter((s) => s.startsAt <= now && now < s.endsAt);
  }

  /** The active silence matching `labels`, if any. */
  silencedBy(labels: Labels, now: number): Silence | undefined {
    for (const map of [this.fromApi, this.fromRules]) {
      for (const c of map.values())
        if (c.silence.startsAt <= now && now < c.silence.endsAt && c.test(labels)) return c.silence;
    }
    return undefined;
  }

  /** The inhibition under which a firing incident among `firing` mutes an incident with `labels`, if any. */
  inhibitedBy(labels: Labels, key: string, firing: Iterable<Incident>): Inhibition | undefined {
    for (const c of this.inhibitions) {
      if (!c.target(labels)) continue;
      for (const src of firing) {
        if (src.key === key || !c.source(src.labels)) continue;
        if (c.inhibition.equal.every((l) => (src.labels[l] ?? '') === (labels[l] ?? ''))) return c.inhibition;
      }
    }
    return undefined;
  }

  /** True when some inhibition could mute an incident with these labels. */
  isInhibitionTarget(labels: Labels): boolean {
    return this.inhibitions.some((c) => c.target(labels));
  }

  /** Records a suppressed trip; counts it when new or when its reason changed. */
  record(incident: Incident, reason: SuppressReason, detail: string, now: number): void {
    const prev = this.ledger.get(incident.key);
    if (prev && prev.reason === reason) return;
    const trip: SuppressedTrip = { incident, reason, detail, since: now };
    this.ledger.set(incident.key, trip);
    this.counts[reason]++;
    this.onSuppressed?.(trip);
  }

  /** True when the series `key` is listed as suppressed for `reason` (so the trip need not be built again). */
  isRecorded(key: string, reason: SuppressReason): boolean {
    return this.ledger.get(key)?.reason === reason;
  }

  /** Forgets the ledger entry of a series that fired or cleared. */
  release(key: string): void {
    this.ledger.delete(key);
  }

  /** Currently suppressed trips with their reason. */
  suppressed(): SuppressedTrip[] {
    return [...this.ledger.values()];
  }
}

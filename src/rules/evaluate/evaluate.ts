/**
 * The rules evaluator: each tick, feeds the samples into the windows, evaluates every rule per group
 * and drives each group's lifecycle; returns the incidents that fired or resolved on that tick.
 * A trip goes through the suppression stages in order (mute, cooldown, cap, silence, inhibition);
 * a suppressed trip is recorded by the Suppressor, never dropped silently.
 *
 * Wiring (engine): `ev = new Evaluator(ruleSet)`; `ev.restore(await store.load(), Date.now())`; each
 * sampler tick `for (const inc of ev.tick(tick)) capture/actions(inc, planFor(rule, inc))`, then
 * `if (ev.dirty) await store.save(ev.snapshot())`; on reload `ev.setRuleSet(newSet)` (returns the
 * resolutions of removed or changed rules); silences API: `ev.suppressor`; suppressed trips:
 * `ev.suppressor.suppressed()`, `.counts`, `.onSuppressed`.
 */
import { hostname } from 'node:os';
import type { Incident } from '../../incident.ts';
import type { Tick } from '../../samples.ts';
import type { Rule, RuleSet } from '../types.ts';
import type { PersistedRule, PersistedState } from '../state/store.ts';
import { STATE_VERSION } from '../state/store.ts';
import { WindowStore } from './window.ts';
import { RuleSelection, leavesOf, type Group } from './groups.ts';
import { compileTree, leafValue, statKey, type TreePredicate } from './conditions.ts';
import { MuteSchedule, activeMute } from './mute.ts';
import {
  advance,
  inCooldown,
  isIdle,
  markFiring,
  markResolved,
  markSuppressed,
  TripLog,
  type SeriesState,
  type SuppressReason,
} from './lifecycle.ts';
import { Suppressor } from './suppress.ts';
import { compileChecked, isApiSilence, silenceSpec } from '../silence-service.ts';
import { SilenceSpecSchema } from '../parse/schema.ts';
import { buildIncident, compileAnnotations, incidentLabels, refreshNames, resolveIncident } from './incident-build.ts';
import type { CompiledTemplate } from '../compile/template.ts';

/** What a rule evaluates; state survives a reload only when this is unchanged. */
export function ruleIdentity(r: Rule): string {
  return JSON.stringify([r.when, r.groupBy, r.match]);
}

/** Per signal, the longest window any condition of any rule reads it over (what the window store keeps). */
export function windowsOf(rules: readonly Rule[]): Map<string, number> {
  const out = new Map<string, number>();
  const need = (signal: string, ms: number): void => {
    out.set(signal, Math.max(out.get(signal) ?? 0, ms));
  };
  for (const r of rules) {
    for (const c of leavesOf(r.when)) {
      need(c.signal, c.windowMs);
      if (c.ratioTo) need(c.ratioTo, c.windowMs);
    }
  }
  return out;
}

interface RuleRuntime {
  rule: Rule;
  identity: string;
  sel: RuleSelection;
  tree: TreePredicate;
  mutes: MuteSchedule[];
  templates: Record<string, CompiledTemplate>;
  states: Map<string, SeriesState>;
  firing: Map<string, Incident>;
  trips: TripLog;
  values: Float64Array;
  /** Per leaf: statKey of its stat (of `increase` for a ratio), for the per-tick memo on series. */
  keys: number[];
  maxWindowMs: number;
  /** Restored series keep their phase until the windows hold data again (no re-alert, no lost pending). */
  graceUntil: number;
  restored: Set<string>;
  /** The groups the firing incidents' names were last refreshed from (a new map: series or their labels changed). */
  namedFrom?: Map<string, Group>;
}

/** A trip past mute, cooldown and cap, waiting for silences and inhibitions (the incident is built only when needed). */
interface PendingTrip {
  rt: RuleRuntime;
  st: SeriesState;
  group: Group;
  values: Float64Array;
  labels: Readonly<Record<string, string>>;
}

/** Options of an evaluator. */
export interface EvaluatorOptions {
  /** Host name put on incidents. @defaultValue os.hostname() */
  readonly host?: string;
}

/** Evaluates a rule set tick by tick. */
export class Evaluator {
  readonly suppressor = new Suppressor();
  private readonly host: string;
  private readonly store: WindowStore;
  private runtimes: RuleRuntime[] = [];
  private lastNow = -Infinity;
  /** True when lifecycle state changed since the last `snapshot()` (persist then). */
  dirty = false;
  /** Saved run-time silences that did not validate when restored (dropped). */
  droppedSilences = 0;

  constructor(ruleSet: RuleSet, opts: EvaluatorOptions = {}) {
    this.host = opts.host ?? hostname();
    this.store = new WindowStore(windowsOf(ruleSet.rules));
    this.setRuleSet(ruleSet);
  }

  /** The rules being evaluated. */
  get rules(): readonly Rule[] {
    return this.runtimes.map((r) => r.rule);
  }

  /** Series windows held. */
  get seriesCount(): number {
    return this.store.size;
  }

  /**
   * Replaces the rule set. Rules whose identity is unchanged keep their series state; the firing
   * incidents of removed or changed rules are resolved (returned) so nothing stays open downstream.
   */
  setRuleSet(ruleSet: RuleSet, now: number = Math.max(this.lastNow, Date.now())): Incident[] {
    const old = new Map(this.runtimes.map((r) => [r.rule.name, r]));
    const resolved: Incident[] = [];
    this.runtimes = ruleSet.rules.map((rule) => {
      const identity = ruleIdentity(rule);
      const prev = old.get(rule.name);
      const keep = prev && prev.identity === identity;
      if (prev) old.delete(rule.name);
      if (prev && !keep) for (const inc of prev.firing.values()) resolved.push(resolveIncident(inc, now, inc.value));
      const sel = keep ? prev.sel : new RuleSelection(rule, this.host);
      const rt: RuleRuntime = {
        rule,
        identity,
        sel,
        tree: compileTree(rule.when),
        mutes: rule.mute.map((m) => new MuteSchedule(m)),
        templates: compileAnnotations(rule),
        states: keep ? prev.states : new Map(),
        firing: keep ? prev.firing : new Map(),
        trips: keep ? prev.trips : new TripLog(),
        values: new Float64Array(sel.leaves.length),
        keys: sel.leaves.map((c) => statKey(c.ratioTo ? 'increase' : c.stat, c.windowMs)),
        maxWindowMs: Math.max(...sel.leaves.map((c) => c.windowMs)),
        graceUntil: keep ? prev.graceUntil : -Infinity,
        restored: keep ? prev.restored : new Set(),
      };
      return rt;
    });
    for (const gone of old.values())
      for (const inc of gone.firing.values()) resolved.push(resolveIncident(inc, now, inc.value));
    this.store.setWindows(windowsOf(ruleSet.rules));
    this.suppressor.setFromRules(ruleSet.silences, ruleSet.inhibitions);
    if (resolved.length) this.dirty = true;
    return resolved;
  }

  /** Ingests one tick and evaluates every rule; returns the incidents that fired or resolved. */
  tick(t: Tick): Incident[] {
    const now = t.at;
    this.lastNow = now;
    this.store.ingest(t);
    const out: Incident[] = [];
    const trips: PendingTrip[] = [];
    for (const rt of this.runtimes) this.evaluateRule(rt, now, out, trips);
    if (trips.length) this.commitTrips(trips, now, out);
    return out;
  }

  private evaluateRule(rt: RuleRuntime, now: number, out: Incident[], trips: PendingTrip[]): void {
    const list = rt.sel.groupList(this.store);
    const groups = rt.sel.groups(this.store);
    if (groups !== rt.namedFrom) {
      rt.namedFrom = groups; // rebuilt: series or their labels changed, names may have arrived
      if (refreshNames(rt.firing, groups)) this.dirty = true;
    }
    const leaves = rt.sel.leaves;
    const v = rt.values;
    for (let gi = 0; gi < list.length; gi++) {
      const g = list[gi];
      for (let i = 0; i < leaves.length; i++) v[i] = leafValue(leaves[i], g, i, now, rt.keys[i]);
      const active = rt.tree(v, false);
      let st = rt.states.get(g.key);
      if (!st) {
        if (!active) continue;
        st = { phase: 'inactive' };
        rt.states.set(g.key, st);
      }
      this.step(rt, st, g, now, active, out, trips);
    }
    // Series whose group vanished: no data, so they clear (after the restore grace).
    if (rt.states.size > 0) {
      rt.states.forEach((st, key) => {
        if (groups.has(key)) return;
        v.fill(NaN);
        this.step(rt, st, { key, labels: rt.firing.get(key)?.labels ?? {}, series: [] }, now, false, out, trips);
      });
      rt.states.forEach((st, key) => {
        if (isIdle(st, now, rt.rule)) {
          rt.states.delete(key);
          rt.restored.delete(key);
        }
      });
    }
  }

  private step(
    rt: RuleRuntime,
    st: SeriesState,
    g: Group,
    now: number,
    active: boolean,
    out: Incident[],
    trips: PendingTrip[],
  ): void {
    const holding = st.phase === 'firing' ? rt.tree(rt.values, true) : active;
    const before = st.phase;
    const snapshot = { ...st };
    const tr = advance(st, now, active, holding, rt.rule);
    if ((tr === 'resolve' || tr === 'cleared') && now < rt.graceUntil && rt.restored.has(g.key)) {
      Object.assign(st, snapshot, { clearSince: undefined }); // not enough data yet to say it is over
      return;
    }
    if (st.phase !== before) this.dirty = true;
    if (tr === 'cleared') {
      this.suppressor.release(g.key);
      return;
    }
    if (tr === 'resolve') {
      const inc = rt.firing.get(g.key);
      markResolved(st, now);
      rt.firing.delete(g.key);
      rt.restored.delete(g.key);
      this.dirty = true;
      if (inc) out.push(resolveIncident(inc, now, rt.values[0]));
      return;
    }
    if (tr !== 'trip' || g.series.length === 0) return;
    const mute = activeMute(rt.mutes, now);
    if (mute) return this.suppress(rt, st, g, rt.values, 'muted', `mute window ${mute.cron}`, now);
    if (inCooldown(st, now, rt.rule))
      return this.suppress(
        rt,
        st,
        g,
        rt.values,
        'cooldown',
        `cooldown until ${new Date(st.lastTripAt! + rt.rule.cooldownMs).toISOString()}`,
        now,
      );
    if (rt.trips.count(now) >= rt.rule.maxTripsPerHour)
      return this.suppress(rt, st, g, rt.values, 'cap', `${rt.rule.maxTripsPerHour} trips in the last hour`, now);
    trips.push({ rt, st, group: g, values: rt.values.slice(), labels: incidentLabels(rt.rule, g) });
  }

  private build(rt: RuleRuntime, st: SeriesState, g: Group, values: Float64Array, now: number): Incident {
    return buildIncident(
      {
        rule: rt.rule,
        templates: rt.templates,
        group: g,
        values,
        now,
        pendingSince: st.pendingSince ?? now,
        host: this.host,
      },
      rt.sel.leaves,
    );
  }

  /** Records a suppressed trip; a series already suppressed for the same reason costs nothing more (no incident built). */
  private suppress(
    rt: RuleRuntime,
    st: SeriesState,
    g: Group,
    values: Float64Array,
    reason: SuppressReason,
    detail: string,
    now: number,
  ): void {
    if (st.phase === 'suppressed' && st.reason === reason && this.suppressor.isRecorded(g.key, reason)) return;
    if (st.phase !== 'suppressed' || st.reason !== reason) this.dirty = true;
    markSuppressed(st, reason);
    this.suppressor.record(this.build(rt, st, g, values, now), reason, detail, now);
  }

  /** Silences and inhibitions last: sources of inhibitions fire first, so a target tripping on the same tick sees them. */
  private commitTrips(trips: PendingTrip[], now: number, out: Incident[]): void {
    const target = (p: PendingTrip): number => Number(this.suppressor.isInhibitionTarget(p.labels));
    trips.sort((a, b) => target(a) - target(b));
    for (const p of trips) {
      const { rt, st, group, values, labels } = p;
      const silence = this.suppressor.silencedBy(labels, now);
      if (silence) {
        this.suppress(
          rt,
          st,
          group,
          values,
          'silenced',
          `silence ${silence.id} by ${silence.author}: ${silence.comment}`,
          now,
        );
        continue;
      }
      const inh = this.suppressor.inhibitedBy(labels, group.key, this.allFiring());
      if (inh) {
        this.suppress(rt, st, group, values, 'inhibited', `inhibition ${inh.name}`, now);
        continue;
      }
      const incident = this.build(rt, st, group, values, now);
      markFiring(st, now, incident.id);
      rt.trips.record(now);
      rt.firing.set(incident.key, incident);
      this.suppressor.release(incident.key);
      this.dirty = true;
      out.push(incident);
    }
  }

  private *allFiring(): Iterable<Incident> {
    for (const rt of this.runtimes) yield* rt.firing.values();
  }

  /** Every firing incident. */
  firing(): Incident[] {
    return [...this.allFiring()];
  }

  /** Lifecycle state of one series of a rule (tests, the API). */
  stateOf(rule: string, key: string): Readonly<SeriesState> | undefined {
    return this.runtimes.find((r) => r.rule.name === rule)?.states.get(key);
  }

  /** The state to persist; clears `dirty`. */
  snapshot(now: number = this.lastNow): PersistedState {
    const rules: Record<string, PersistedRule> = {};
    for (const rt of this.runtimes) {
      const series: Record<string, { state: SeriesState; incident?: Incident }> = {};
      for (const [key, st] of rt.states)
        series[key] = rt.firing.has(key) ? { state: { ...st }, incident: rt.firing.get(key) } : { state: { ...st } };
      rules[rt.rule.name] = { identity: rt.identity, trips: rt.trips.times.slice(), series };
    }
    this.dirty = false;
    const silences = this.suppressor
      .list()
      .filter(isApiSilence)
      .map((x) => ({ id: x.id, spec: silenceSpec(x) }));
    return {
      version: STATE_VERSION,
      savedAt: Number.isFinite(now) ? now : Date.now(),
      rules,
      ...(silences.length ? { silences } : {}),
    };
  }

  /**
   * Restores persisted state into rules of the same name and identity. Restored series keep their
   * phase (firing stays firing without a new incident; pending keeps its start) until the rule's
   * longest window has been refilled after `now`.
   */
  restore(state: PersistedState, now: number): void {
    for (const saved of state.silences ?? []) {
      // Saved state may come from Redis: each silence is validated again, as the API would; a bad one is dropped.
      try {
        if (!isApiSilence(saved)) throw new Error('not a run-time silence id');
        const spec = SilenceSpecSchema.parse(saved.spec);
        if (Date.parse(spec.ends_at) > now) this.suppressor.add(compileChecked(spec, now, saved.id));
      } catch {
        this.droppedSilences++;
      }
    }
    for (const rt of this.runtimes) {
      const saved = state.rules[rt.rule.name];
      if (!saved || saved.identity !== rt.identity) continue;
      rt.trips.times = saved.trips.filter((t) => t > now - 3_600_000).sort((a, b) => a - b);
      rt.graceUntil = now + rt.maxWindowMs;
      for (const [key, s] of Object.entries(saved.series)) {
        rt.states.set(key, { ...s.state });
        rt.restored.add(key);
        if (s.state.phase === 'firing' && s.incident) rt.firing.set(key, s.incident);
      }
    }
  }
}

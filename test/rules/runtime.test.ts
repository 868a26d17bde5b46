import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { Incident } from '../../src/incident.ts';
import { loadRuleSet } from '../../src/rules/load.ts';
import { RuleRuntime, type ReloadEvent, type RuleRuntimeOptions } from '../../src/rules/runtime.ts';
import { STATE_FILE } from '../../src/rules/state/open.ts';
import type { PersistedState, StateStore } from '../../src/rules/state/store.ts';
import { recordingLogger } from '../actions/fixtures/incident.ts';
import { counter, tick } from '../support/rule-fixtures.ts';
import { CGROUP_ID, SCRIPTED_HOST, ScriptedEngine, throttleRule, waitFor } from '../support/scripted-engine.ts';
import { ACTIONS } from '../../src/actions/registry.ts';

// Not pod-level (no pod_uid): the key carries the host (the runtime's below and the scripted engine's are the same).
const KEY = `a{cgroup_id="${CGROUP_ID}",host="${SCRIPTED_HOST}"}`;
const labels = { cgroup_id: CGROUP_ID };

/** A state store in memory whose saves wait until the test releases them; records the saves in flight. */
function slowStore(initial?: PersistedState) {
  const saved: PersistedState[] = [];
  const pending: (() => void)[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let closed = false;
  const store: StateStore = {
    load: async () => initial,
    save: (s) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return new Promise<void>((resolve) =>
        pending.push(() => {
          inFlight--;
          saved.push(s);
          resolve();
        }),
      );
    },
    close: async () => {
      closed = true;
    },
  };
  return {
    store,
    saved,
    release: () => pending.shift()?.(),
    get pending() {
      return pending.length;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get closed() {
      return closed;
    },
  };
}

/** A runtime over the rule files of a temp folder, recording its incidents and reloads. */
function runtimeOn(files: Record<string, string>, over: Partial<RuleRuntimeOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-runtime-'));
  for (const [f, yaml] of Object.entries(files)) writeFileSync(join(dir, f), yaml);
  const incidents: Incident[] = [];
  const reloads: ReloadEvent[] = [];
  const registry = new Registry();
  const runtime = new RuleRuntime({
    ruleSet: loadRuleSet([dir], { tests: false, actions: ACTIONS }).ruleSet,
    actions: ACTIONS,
    paths: [dir],
    config: {
      host: SCRIPTED_HOST,
      data_dir: join(dir, 'data'),
      redis: { prefix: 'tripline:' },
      metrics: { prefix: 'tripline_' },
    },
    log: recordingLogger() as never,
    registry,
    onIncident: (i) => incidents.push(i),
    onReload: (r) => reloads.push(r),
    ...over,
  });
  return { dir, runtime, incidents, reloads, registry, done: () => rmSync(dir, { recursive: true, force: true }) };
}

async function metric(registry: Registry, name: string): Promise<number | undefined> {
  const m = await registry.getSingleMetric(name)?.get();
  return m?.values[0]?.value;
}

test('rule runtime: a rejected reload keeps the running rules and sets the reload metrics; a good one applies', async () => {
  const r = runtimeOn({ 'a.yaml': throttleRule('a') }, { store: slowStore().store });
  try {
    await r.runtime.restore();
    assert.equal(r.runtime.reload(), false, 'no reloads before startReloads');
    r.runtime.startReloads(false);
    writeFileSync(join(r.dir, 'a.yaml'), 'apiVersion: tripline.dev/v1\nkind: Rule\nspec: {}\n');
    assert.equal(r.runtime.reload(), false);
    assert.deepEqual(
      r.runtime.rules.map((x) => x.name),
      ['a'],
    );
    assert.equal(r.reloads.length, 1);
    assert.equal(r.reloads[0].ok, false);
    assert.match(r.reloads[0].error ?? '', /./);
    assert.equal(await metric(r.registry, 'tripline_rules_last_reload_success'), 0);
    assert.equal(await metric(r.registry, 'tripline_rules_reload_failures_total'), 1);

    writeFileSync(join(r.dir, 'a.yaml'), throttleRule('a'));
    writeFileSync(join(r.dir, 'b.yaml'), throttleRule('b', { signal: 'cpu_periods' }));
    assert.equal(r.runtime.reload('manual'), true);
    assert.deepEqual(r.reloads[1], { ok: true, changed: true, reason: 'manual', error: undefined });
    assert.equal(await metric(r.registry, 'tripline_rules_last_reload_success'), 1);
    assert.equal(await metric(r.registry, 'tripline_rules_loaded'), 2);
    assert.deepEqual(r.runtime.rule('b')?.groupBy, ['cgroup_id']);
  } finally {
    r.done();
  }
});

test('rule runtime: ticks make incidents; the state is saved one save at a time, the last snapshot last', async () => {
  const s = slowStore();
  const r = runtimeOn({ 'a.yaml': throttleRule('a') }, { store: s.store });
  try {
    await r.runtime.restore();
    const t0 = Date.now();
    r.runtime.tick(tick(t0, [counter('cpu_throttled_periods', labels, 0)], 100));
    for (let i = 1; i <= 3; i++)
      r.runtime.tick(tick(t0 + i * 100, [counter('cpu_throttled_periods', labels, 100)], 100));
    assert.deepEqual(
      r.incidents.map((i) => i.status),
      ['firing'],
    );
    assert.equal(r.runtime.phaseOf('a', KEY), 'firing');
    // Cold ticks until the rate over the 1 s window falls below the threshold.
    for (let i = 4; i <= 20 && r.incidents.length < 2; i++)
      r.runtime.tick(tick(t0 + i * 100, [counter('cpu_throttled_periods', labels, 0)], 100));
    assert.deepEqual(
      r.incidents.map((i) => i.status),
      ['firing', 'resolved'],
    );
    const closing = r.runtime.close();
    while (s.pending > 0 || s.saved.length < 2) {
      s.release();
      await new Promise((res) => setImmediate(res));
    }
    await closing;
    assert.equal(s.maxInFlight, 1, 'one save at a time');
    assert.ok(s.closed);
    const last = s.saved.at(-1)!;
    assert.equal(last.rules.a.series[KEY]?.incident, undefined, 'the last save has the series resolved');
    const firstFiring = s.saved.find((x) => x.rules.a.series[KEY]?.incident);
    assert.ok(firstFiring, 'a save held the firing incident');
    // Stopped: ticks are ignored.
    r.runtime.tick(tick(t0 + 5000, [counter('cpu_throttled_periods', labels, 1000)], 100));
    assert.equal(r.incidents.length, 2);
  } finally {
    r.done();
  }
});

test('engine on scripted counters: a firing series survives a restart (state file) and resolves with the same incident', async () => {
  const first = new ScriptedEngine();
  first.writeRule('a.yaml', throttleRule('a'));
  await first.start();
  first.hot = true;
  await waitFor('the firing action', 10_000, () => first.executed.length >= 1);
  const firing = first.incidents[0];
  await first.stop(true);
  assert.ok(existsSync(join(first.dir, 'data', STATE_FILE)));

  const second = new ScriptedEngine(first.dir);
  try {
    second.hot = true;
    const engine = await second.start();
    assert.equal(engine.seriesPhase('a', KEY), 'firing', 'restored before the first tick');
    await second.family.afterReads(5);
    assert.equal(second.incidents.length, 0, 'a restored firing series does not fire again');
    second.hot = false;
    await waitFor('the resolve action', 10_000, () => second.executed.length >= 1);
    assert.equal(second.incidents[0].status, 'resolved');
    assert.equal(second.incidents[0].id, firing.id);
    assert.equal(second.executed[0].event, 'resolved');
    assert.equal(second.executed[0].incident.id, firing.id);
  } finally {
    await second.stop();
  }
});

// The counter registry's two halves agree, and what is derived from the descriptors (signal catalog, config
// section, export ranges, default deep probes) holds for every family.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAMILY_CONFIG, FAMILY_NAMES, FAMILY_SPECS } from '../../../src/probes/counters/spec/index.ts';
import { COUNTERS } from '../../../src/probes/counters/index.ts';
import { deepProbes } from '../../../src/probes/deep/index.ts';
import { allSignals } from '../../../src/signals.ts';
import { SIGNAL_RANGES } from '../../../src/metrics/fold-buckets.ts';
import { DEFAULT_PROBES_BY_SOURCE } from '../../../src/rules/plan.ts';
import { buildConfig, ConfigSchema } from '../../../src/config.ts';
import { hasCode } from '../../../src/errors.ts';

test("the runtime registry has the descriptors' keys, and each entry's name, bpf flag and signals are its descriptor's", () => {
  assert.deepEqual(Object.keys(COUNTERS), Object.keys(FAMILY_SPECS));
  for (const [key, spec] of Object.entries(FAMILY_SPECS)) {
    assert.equal(spec.name, key);
    assert.match(key, /^[a-z][a-z0-9]*$/);
    assert.equal(COUNTERS[key].name, key);
    assert.equal(COUNTERS[key].bpf, spec.bpf);
    assert.deepEqual(COUNTERS[key].signals, Object.keys(spec.signals));
  }
});

test('every signal comes from exactly one family; histograms have an export range, others none', () => {
  const seen = new Map<string, string>();
  for (const f of Object.values(FAMILY_SPECS))
    for (const [name, s] of Object.entries(f.signals)) {
      assert.ok(!seen.has(name), `${name} in ${seen.get(name)} and ${f.name}`);
      seen.set(name, f.name);
      const range = (s as { range?: readonly [number, number] }).range;
      if (s.kind === 'histogram') assert.ok(range && range[0] < range[1], `${name} has a range`);
      else assert.equal(range, undefined, `${name}: only histograms have a range`);
    }
  assert.deepEqual(
    allSignals().map((s) => [s.name, s.source]),
    [...seen].sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  assert.deepEqual(
    Object.keys(SIGNAL_RANGES).sort(),
    allSignals()
      .filter((s) => s.kind === 'histogram')
      .map((s) => s.name),
  );
});

test("every family's default deep probes exist in the deep probe catalog", () => {
  for (const f of Object.values(FAMILY_SPECS)) {
    assert.ok(f.defaultProbes.length > 0, f.name);
    for (const p of f.defaultProbes) assert.ok(Object.hasOwn(deepProbes, p), `${f.name}: ${p}`);
    assert.deepEqual(DEFAULT_PROBES_BY_SOURCE[f.name], f.defaultProbes);
  }
});

test("the config's counters section: enabled is the registry's keys, each family's own keys are its descriptor's", () => {
  const counters = buildConfig({}, {}).counters;
  assert.deepEqual(counters.enabled, FAMILY_NAMES);
  assert.throws(
    () => buildConfig({ counters: { enabled: ['nope'] } }, {}),
    (e) => hasCode(e, 'CONFIG_ERR_INVALID'),
  );
  const keys = new Set<string>();
  for (const f of Object.values(FAMILY_SPECS))
    for (const k of Object.keys(f.config)) {
      assert.ok(!keys.has(k), `config key ${k} declared twice`);
      keys.add(k);
      assert.ok(k in counters, `counters.${k} has a default`);
    }
  assert.deepEqual(Object.keys(FAMILY_CONFIG).sort(), [...keys].sort());
  const shared = Object.keys(ConfigSchema.shape.counters.unwrap().shape).filter((k) => !keys.has(k));
  assert.deepEqual(shared.sort(), ['enabled', 'max_cgroups', 'watch_cgroups']);
});

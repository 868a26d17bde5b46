// The zod schemas: defaults from RULE_DEFAULTS, strictness, names; and the committed JSON Schema in
// schema/rule.schema.json is exactly what the schemas generate with the action registry's schemas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { documentSchemas, RULE_DEFAULTS, MatcherSchema, NAME_PATTERN } from '../../../src/rules/parse/schema.ts';
import { JSON_SCHEMA_PATH, keysAt, ruleJsonSchemaText } from '../../../src/rules/parse/json-schema.ts';
import { ACTIONS } from '../../../src/actions/registry.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const DOCUMENT_SCHEMAS = documentSchemas(ACTIONS);
const RuleSpecSchema = DOCUMENT_SCHEMAS.Rule.shape.spec;
const when = { signal: 'tcp_retransmits', stat: 'rate', window: '1m', above: '1/s' };

test('defaults come from RULE_DEFAULTS', () => {
  const spec = RuleSpecSchema.parse({ when });
  assert.equal(spec.severity, RULE_DEFAULTS.severity);
  assert.equal(spec.cooldown, RULE_DEFAULTS.cooldown);
  assert.equal(spec.max_trips_per_hour, RULE_DEFAULTS.max_trips_per_hour);
  assert.deepEqual(
    [spec.group_by, spec.match, spec.mute, spec.actions, spec.labels, spec.annotations],
    [[], {}, [], [], {}, {}],
  );
  // An action's defaults are in its own schema: test/actions/scale/spec.test.ts.
});

test('objects are strict at every level', () => {
  assert.equal(RuleSpecSchema.safeParse({ when, extra: 1 }).success, false);
  assert.equal(RuleSpecSchema.safeParse({ when: { ...when, windw: '1m' } }).success, false);
  assert.equal(RuleSpecSchema.safeParse({ when, actions: [{ type: 'slack', chanel: '#x' }] }).success, false);
  assert.equal(RuleSpecSchema.safeParse({ when, capture: { probes: [], extra: 1 } }).success, false);
});

test('matchers take one operator', () => {
  assert.equal(MatcherSchema.safeParse('x').success, true);
  assert.equal(MatcherSchema.safeParse({ in: ['a', 'b'] }).success, true);
  assert.equal(MatcherSchema.safeParse({ in: ['a'], not: 'b' }).success, false);
  assert.equal(MatcherSchema.safeParse({}).success, false);
  assert.equal(MatcherSchema.safeParse(5).success, false);
});

test('names are DNS labels', () => {
  const re = new RegExp(NAME_PATTERN);
  for (const ok of ['a', 'cpu-throttling', 'r2', 'a'.repeat(63)]) assert.ok(re.test(ok), ok);
  for (const bad of ['', '-a', 'a-', 'A', 'a_b', 'a.b', 'a'.repeat(64)]) assert.ok(!re.test(bad), bad);
});

test('every kind parses a minimal document', () => {
  const meta = { apiVersion: 'tripline.dev/v1', metadata: { name: 'x' } };
  assert.ok(DOCUMENT_SCHEMAS.Rule.safeParse({ ...meta, kind: 'Rule', spec: { when } }).success);
  assert.ok(
    DOCUMENT_SCHEMAS.Silence.safeParse({
      ...meta,
      kind: 'Silence',
      spec: {
        matchers: { rule: 'x' },
        starts_at: '2026-01-01T00:00:00Z',
        ends_at: '2026-01-01T01:00:00Z',
        author: 'a',
        comment: 'c',
      },
    }).success,
  );
  assert.ok(
    DOCUMENT_SCHEMAS.Inhibition.safeParse({ ...meta, kind: 'Inhibition', spec: { source_match: {}, target_match: {} } })
      .success,
  );
  assert.ok(
    DOCUMENT_SCHEMAS.RuleTest.safeParse({
      ...meta,
      kind: 'RuleTest',
      spec: {
        rule_files: ['a.yaml'],
        input: [{ signal: 'tcp_retransmits', values: '0+1x10' }],
        expect: [{ at: '5s', incidents: [] }],
      },
    }).success,
  );
});

test('allowed keys are read from the JSON Schema, per action type', () => {
  assert.deepEqual(keysAt(DOCUMENT_SCHEMAS.Rule, ['spec', 'when']).sort(), [
    'above',
    'all',
    'any',
    'below',
    'match',
    'ratio',
    'resolve_above',
    'resolve_below',
    'signal',
    'stat',
    'window',
  ]);
  assert.deepEqual(keysAt(DOCUMENT_SCHEMAS.Rule, ['spec', 'when', 'all', 0, 'ratio']).sort(), ['of', 'to']);
  assert.deepEqual(keysAt(DOCUMENT_SCHEMAS.Rule, ['spec', 'actions', 0], { type: 'slack' }), [
    'type',
    'channel',
    'mention',
  ]);
  assert.deepEqual(keysAt(DOCUMENT_SCHEMAS.RuleTest, ['spec', 'expect', 0, 'incidents', 0, 'plan']), [
    'probes',
    'scope',
    'contributors',
    'actions',
  ]);
});

test(`${JSON_SCHEMA_PATH} is up to date (regenerate: scripts/node scripts/gen-schema.ts)`, () => {
  assert.equal(readFileSync(join(root, JSON_SCHEMA_PATH), 'utf8'), ruleJsonSchemaText(ACTIONS));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Suppressor, type SuppressedTrip } from '../../../src/rules/evaluate/suppress.ts';
import type { Incident } from '../../../src/incident.ts';
import { hasCode } from '../../../src/errors.ts';

const inc = (rule: string, labels: Record<string, string>): Incident => ({
  id: `${rule}-1`,
  key: `${rule}${JSON.stringify(labels)}`,
  rule,
  status: 'firing',
  severity: 'warning',
  labels: { ...labels, rule },
  annotations: {},
  target: {},
  value: 1,
  threshold: 0,
  unit: 'count',
  stats: {},
  startsAt: '',
  firedAt: '',
  host: 'h',
});
const eq = (value: string) => ({ op: 'equals' as const, value });

test('silences: rule-file and API silences, active only in [start, end); API validates input', () => {
  const s = new Suppressor();
  s.setFromRules(
    [{ id: 'file-1', matchers: { rule: eq('a') }, startsAt: 100, endsAt: 200, author: 'x', comment: 'y' }],
    [],
  );
  s.add({
    id: 'api-1',
    matchers: { node: { op: 'regex', pattern: 'n[12]' } },
    startsAt: 0,
    endsAt: 1000,
    author: 'ops',
    comment: 'drain',
  });
  assert.equal(s.silencedBy({ rule: 'a' }, 99), undefined);
  assert.equal(s.silencedBy({ rule: 'a' }, 100)?.id, 'file-1');
  assert.equal(s.silencedBy({ rule: 'a' }, 200), undefined);
  assert.equal(s.silencedBy({ rule: 'b', node: 'n2' }, 500)?.id, 'api-1');
  assert.deepEqual(
    s
      .list(150)
      .map((x) => x.id)
      .sort(),
    ['api-1', 'file-1'],
  );
  assert.deepEqual(
    s.list(500).map((x) => x.id),
    ['api-1'],
  );
  s.setFromRules([], []);
  assert.deepEqual(
    s.list().map((x) => x.id),
    ['api-1'],
    'a reload replaces file silences only',
  );
  assert.throws(
    () => s.add({ id: 'bad', matchers: {}, startsAt: 0, endsAt: 1, author: '', comment: '' }),
    (e) => hasCode(e, 'RULE_ERR_SCHEMA'),
  );
  assert.throws(
    () => s.add({ id: 'bad', matchers: { a: eq('b') }, startsAt: 5, endsAt: 5, author: '', comment: '' }),
    (e) => hasCode(e, 'RULE_ERR_SCHEMA'),
  );
  assert.equal(s.remove('api-1'), true);
  assert.equal(s.remove('api-1'), false);
});

test('inhibition needs a firing source matching source_match with equal `equal` labels, never itself', () => {
  const s = new Suppressor();
  s.setFromRules(
    [],
    [
      {
        name: 'node-down',
        sourceMatch: { rule: eq('node') },
        targetMatch: { severity: { op: 'not', value: 'critical' } },
        equal: ['node'],
      },
    ],
  );
  const src = inc('node', { node: 'n1' });
  assert.equal(s.inhibitedBy({ rule: 'pod', node: 'n1' }, 'k', [src])?.name, 'node-down');
  assert.equal(s.inhibitedBy({ rule: 'pod', node: 'n2' }, 'k', [src]), undefined, 'other node');
  assert.equal(s.inhibitedBy({ rule: 'pod', node: 'n1', severity: 'critical' }, 'k', [src]), undefined, 'not a target');
  assert.equal(s.inhibitedBy(src.labels, src.key, [src]), undefined, 'an incident does not inhibit itself');
  assert.equal(s.inhibitedBy({ rule: 'pod', node: 'n1' }, 'k', []), undefined, 'no source firing');
});

test('the ledger counts each suppression once per reason, lists it, calls the hook, forgets on release', () => {
  const s = new Suppressor();
  const seen: SuppressedTrip[] = [];
  s.onSuppressed = (t) => seen.push(t);
  const i = inc('a', { cgroup: '/x' });
  s.record(i, 'muted', 'cron', 1);
  s.record(i, 'muted', 'cron', 2);
  s.record(i, 'silenced', 'silence s', 3);
  assert.deepEqual(s.counts, { muted: 1, cooldown: 0, cap: 0, silenced: 1, inhibited: 0 });
  assert.deepEqual(
    seen.map((t) => t.reason),
    ['muted', 'silenced'],
  );
  assert.deepEqual(
    s.suppressed().map((t) => [t.reason, t.since, t.incident.id]),
    [['silenced', 3, 'a-1']],
  );
  s.release(i.key);
  assert.deepEqual(s.suppressed(), []);
});

/**
 * Names (namespace, pod, container, workload) that reach a cgroup's series after its first samples: the series stays
 * one series and a firing incident one incident; rules match and group on names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Evaluator } from '../../../src/rules/evaluate/evaluate.ts';
import { loadRuleSet } from '../../../src/rules/load.ts';
import { ACTIONS } from '../../../src/actions/registry.ts';
import { IncidentSchema } from '../../../src/incident-schema.ts';
import type { Incident } from '../../../src/incident.ts';
import { cond, counter, rule, ruleSet, tick } from '../../support/rule-fixtures.ts';

const SIG = 'runq_delay_over_threshold';
const T0 = Date.parse('2026-11-25T10:00:00Z');
const CID = 'e'.repeat(64);
const UID = '9d2b6a4e-1c3f-4e5a-8b7c-0d1e2f3a4b5c';
const IDS = {
  cgroup: `/kubepods/burstable/pod${UID}/${CID}`,
  cgroup_id: '4242',
  container_id: CID,
  pod_uid: UID,
  qos: 'burstable',
};
const UNNAMED = Object.freeze({ ...IDS, container: '', namespace: '', pod: '', workload: '' });
const NAMED = Object.freeze({
  ...IDS,
  container: 'app',
  namespace: 'shop',
  pod: 'web-7d9f-abcde',
  workload: 'Deployment/web',
});

const hot = rule({
  name: 'hot',
  groupBy: ['cgroup', 'pod_uid'],
  when: cond({ signal: SIG, stat: 'rate', windowMs: 10_000, threshold: 20, thresholdText: '20/s' }),
});

test('names arriving mid-incident: one series, one incident (same key and id) that shows the names, resolution too', () => {
  const ev = new Evaluator(ruleSet([hot]), { host: 'h1' });
  const all: Incident[] = [];
  const feed = (sec: number, rate: number, labels: Record<string, string>): void => {
    all.push(...ev.tick(tick(T0 + sec * 1000, [counter(SIG, labels, rate)])));
  };
  feed(0, 30, UNNAMED);
  feed(1, 30, UNNAMED);
  assert.equal(all.length, 1, 'fired before the names were known');
  const fired = all[0];
  assert.equal(fired.status, 'firing');
  assert.equal(fired.target.pod?.name, undefined);
  assert.equal(fired.target.containerId, CID);
  // The pod cache syncs: the same cgroup's labels now carry names.
  for (let s = 2; s < 6; s++) {
    feed(s, 30, NAMED);
    assert.equal(ev.seriesCount, 1, 'no second series');
  }
  assert.equal(all.length, 1, 'no second incident');
  assert.equal(ev.firing().length, 1);
  assert.equal(ev.firing()[0].key, fired.key);
  assert.equal(ev.firing()[0].id, fired.id);
  assert.equal(ev.firing()[0].target.pod?.name, 'web-7d9f-abcde', 'the firing incident shows the names now');
  assert.ok(ev.dirty, 'and is saved with them');
  for (let s = 6; s < 17; s++) feed(s, 0, NAMED);
  assert.deepEqual(
    all.map((i) => i.status),
    ['firing', 'resolved'],
  );
  const res = all[1];
  assert.equal(res.key, fired.key);
  assert.equal(res.id, fired.id);
  assert.deepEqual(res.target, {
    cgroupId: '4242',
    cgroupPath: IDS.cgroup,
    container: 'app',
    containerId: CID,
    workload: 'Deployment/web',
    pod: { uid: UID, qos: 'burstable', name: 'web-7d9f-abcde', namespace: 'shop' },
  });
  IncidentSchema.parse(JSON.parse(JSON.stringify(res)));
});

test('names known at the trip are on the firing incident; a matcher on names sees names that arrive later', () => {
  const only = rule({ ...hot, name: 'shop-only', match: { namespace: { op: 'equals', value: 'shop' } } });
  const ev = new Evaluator(ruleSet([hot, only]), { host: 'h1' });
  const out: Incident[] = [];
  for (let s = 0; s < 2; s++) out.push(...ev.tick(tick(T0 + s * 1000, [counter(SIG, UNNAMED, 30)])));
  assert.deepEqual(
    out.map((i) => i.rule),
    ['hot'],
    'no namespace yet: the shop rule does not select the series',
  );
  for (let s = 2; s < 4; s++) out.push(...ev.tick(tick(T0 + s * 1000, [counter(SIG, NAMED, 30)])));
  const shop = out.find((i) => i.rule === 'shop-only');
  assert.ok(shop, 'the names arrived: the shop rule selects the series and trips');
  assert.equal(shop.target.pod?.namespace, 'shop');
  assert.equal(shop.target.container, 'app');
  assert.equal(shop.target.workload, 'Deployment/web');
  assert.equal(out.filter((i) => i.rule === 'hot').length, 1);
});

test('group_by [namespace, workload] validates, and pods of one workload make one incident', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-names-'));
  try {
    writeFileSync(
      join(dir, 'by-workload.yaml'),
      [
        'apiVersion: tripline.dev/v1',
        'kind: Rule',
        'metadata: {name: by-workload}',
        'spec:',
        '  severity: warning',
        '  group_by: [namespace, workload]',
        "  match: {namespace: {not_in: ['']}, pod: {regex: 'web-.*'}, container: app, workload: {regex: 'Deployment/.+'}}",
        '  when: {signal: runq_delay_over_threshold, stat: rate, window: 2s, above: 20/s}',
        "  annotations: {summary: '{{ .labels.namespace }}/{{ .labels.workload }}'}",
      ].join('\n'),
    );
    const { ruleSet: rs } = loadRuleSet([dir], { actions: ACTIONS });
    assert.deepEqual(rs.rules[0].groupBy, ['namespace', 'workload']);
    const ev = new Evaluator(rs, { host: 'h1' });
    const pod2 = { ...NAMED, cgroup: '/kubepods/burstable/pod2/x', cgroup_id: '4343', pod: 'web-7d9f-fghij' };
    const api = { ...NAMED, cgroup: '/kubepods/burstable/pod3/y', cgroup_id: '4444', workload: 'Deployment/api' };
    const other = { ...NAMED, cgroup: '/kubepods/burstable/pod4/z', cgroup_id: '4545', pod: 'db-0' };
    const out = ev.tick(
      tick(T0, [counter(SIG, NAMED, 15), counter(SIG, pod2, 15), counter(SIG, api, 15), counter(SIG, other, 50)]),
    );
    assert.equal(out.length, 1, 'web pods together pass 20/s; api alone does not; db-0 is not matched');
    assert.deepEqual(out[0].labels, { namespace: 'shop', workload: 'Deployment/web', rule: 'by-workload' });
    assert.equal(out[0].annotations.summary, 'shop/Deployment/web');
    assert.equal(out[0].target.workload, 'Deployment/web');
    assert.equal(out[0].target.pod?.name, undefined, 'two pods: no single pod in the target');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

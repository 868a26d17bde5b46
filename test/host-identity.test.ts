// Host identity: the `host` setting (file, else NODE_NAME, else the host name; validated), and the key rule next to
// incidentKey: pod-level series keep host-free keys, every other series is keyed per host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { buildConfig } from '../src/config.ts';
import { incidentKey, isPodLevel, keyLabels } from '../src/incident.ts';
import { TriplineError } from '../src/errors.ts';
import { Evaluator } from '../src/rules/evaluate/evaluate.ts';
import { groupOf } from '../src/rules/evaluate/groups.ts';
import { cond, counter, rule, ruleSet, tick } from './support/rule-fixtures.ts';

test('host: the file wins, then NODE_NAME, then the host name', () => {
  assert.equal(buildConfig({ host: 'node-a' }, { NODE_NAME: 'node-b' }).host, 'node-a');
  assert.equal(buildConfig({}, { NODE_NAME: 'node-b' }).host, 'node-b');
  assert.equal(
    buildConfig({ host: null }, { NODE_NAME: 'ip-10-0-1-7.eu-west-1.compute.internal' }).host,
    'ip-10-0-1-7.eu-west-1.compute.internal',
  );
  assert.equal(buildConfig({}, {}).host, hostname());
  assert.equal(buildConfig({}, { NODE_NAME: '' }).host, hostname());
});

test('host: a name that is not DNS-like is refused with an error naming the key', () => {
  for (const bad of [
    '',
    'has space',
    '-lead',
    'trail-',
    'a..b',
    'x'.repeat(64),
    `${'a.'.repeat(127)}ab`,
    'ctl\n',
    'ünï',
  ]) {
    assert.throws(
      () => buildConfig({ host: bad }, {}),
      (e: unknown) =>
        e instanceof TriplineError &&
        e.code === 'CONFIG_ERR_INVALID' &&
        /: host: must be a DNS-like name/.test(e.message),
      JSON.stringify(bad),
    );
  }
  assert.throws(() => buildConfig({}, { NODE_NAME: 'bad name' }), /host: must be a DNS-like name.*NODE_NAME/);
  assert.throws(() => buildConfig({ host: 7 }, {}), /host:/);
});

test('isPodLevel: a non-empty pod_uid, nothing else', () => {
  assert.equal(isPodLevel({ pod_uid: 'u-1', cgroup: '/kubepods/burstable/podu-1/c' }), true);
  assert.equal(isPodLevel({ pod_uid: '', cgroup: '/system.slice/x.service' }), false);
  assert.equal(isPodLevel({ cgroup: '' }), false);
  assert.equal(isPodLevel({}), false);
  // Labels the names engineer adds or renames do not change the decision.
  assert.equal(isPodLevel({ namespace: 'shop', pod: 'web-1', container_id: 'abc' }), false);
});

test('keyLabels: pod-level keys are host-free, node-level and non-pod cgroup keys carry the host', () => {
  const pod = { cgroup: '/kubepods/burstable/podu-1/c1', pod_uid: 'u-1' };
  assert.deepEqual(keyLabels({ cgroup: pod.cgroup }, pod, 'node-a'), { cgroup: pod.cgroup });
  assert.equal(
    incidentKey('r', keyLabels({ cgroup: pod.cgroup }, pod, 'node-a')),
    incidentKey('r', keyLabels({ cgroup: pod.cgroup }, pod, 'node-b')),
    'the same pod on two hosts: one key',
  );
  const unit = { cgroup: '/system.slice/x.service', pod_uid: '' };
  assert.deepEqual(keyLabels({ cgroup: unit.cgroup }, unit, 'node-a'), { cgroup: unit.cgroup, host: 'node-a' });
  assert.notEqual(
    incidentKey('r', keyLabels({ cgroup: '' }, { cgroup: '' }, 'node-a')),
    incidentKey('r', keyLabels({ cgroup: '' }, { cgroup: '' }, 'node-b')),
    'node-level on two hosts: two keys',
  );
  assert.equal(incidentKey('r', keyLabels({}, {}, 'node-a')), 'r{host="node-a"}');
  // group_by that already holds host (a series labelled with it) is not doubled.
  assert.deepEqual(keyLabels({ host: 'node-a' }, { host: 'node-a' }, 'node-a'), { host: 'node-a' });
});

test('groupOf and the evaluator key incidents by that rule', () => {
  const r = rule({
    name: 'hot',
    groupBy: ['cgroup'],
    when: cond({
      signal: 'runq_delay_over_threshold',
      stat: 'rate',
      windowMs: 1000,
      threshold: 20,
      thresholdText: '20/s',
    }),
  });
  const podSeries = { cgroup: '/kubepods/burstable/podu-1/c1', cgroup_id: '11', pod_uid: 'u-1' };
  const nodeSeries = { cgroup: '', cgroup_id: '' };
  assert.equal(groupOf(r, podSeries, 'node-a').key, `hot{cgroup="${podSeries.cgroup}"}`);
  assert.equal(groupOf(r, nodeSeries, 'node-a').key, 'hot{cgroup="",host="node-a"}');

  const fired = (host: string): string[] => {
    const ev = new Evaluator(ruleSet([r]), { host });
    const t0 = Date.parse('2026-12-01T00:00:00Z');
    const out: string[] = [];
    for (let i = 0; i < 3; i++) {
      const samples = [
        counter('runq_delay_over_threshold', podSeries, 100),
        counter('runq_delay_over_threshold', nodeSeries, 100),
      ];
      for (const inc of ev.tick(tick(t0 + i * 1000, samples))) {
        assert.equal(inc.host, host);
        out.push(`${inc.key} ${JSON.stringify(inc.labels)}`);
      }
    }
    return out.sort();
  };
  const a = fired('node-a');
  const b = fired('node-b');
  assert.equal(a.length, 2, a.join('\n'));
  const podOf = (l: string[]): string | undefined => l.find((x) => x.includes('kubepods'));
  const nodeOf = (l: string[]): string | undefined => l.find((x) => !x.includes('kubepods'));
  assert.equal(podOf(a), podOf(b), 'the pod incident has the same key and labels on both hosts');
  assert.doesNotMatch(podOf(a)!, /host/);
  assert.match(
    nodeOf(a)!,
    /^hot\{cgroup="",host="node-a"\} \{"cgroup":"","rule":"hot"\}$/,
    'the host is in the key, not the labels',
  );
  assert.match(nodeOf(b)!, /^hot\{cgroup="",host="node-b"\}/);
});

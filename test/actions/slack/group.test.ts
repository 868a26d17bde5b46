import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  groupId,
  isExpired,
  mergeIncident,
  newGroup,
  nextRenderAt,
  MAX_GROUP_SERIES,
} from '../../../src/actions/slack/group.ts';
import { incident, resolved } from './helpers.ts';

const T = { waitMs: 30_000, intervalMs: 300_000, repeatMs: 4 * 3_600_000 };
const NOW = Date.parse('2026-11-25T14:00:00Z');

test('merge: new series, the same trip again, a repeat, a resolution', () => {
  const g = newGroup('g', NOW);
  const a = incident('a', NOW);
  assert.equal(mergeIncident(g, a, undefined), 'new');
  assert.equal(mergeIncident(g, a, undefined), 'same');
  assert.equal(g.version, 1);
  assert.equal(mergeIncident(g, incident('a', NOW + 1000), undefined), 'repeat');
  assert.equal(g.suppressed, 1);
  assert.equal(mergeIncident(g, resolved(incident('a', NOW + 1000), NOW + 5000), undefined), 'resolved');
  assert.ok(g.closedAt !== undefined, 'all series resolved: closed');
  assert.equal(isExpired(g, NOW + 6000, T), true);
});

test('render times: group_wait before the first post, group_interval for repeats, at once when urgent', () => {
  const g = newGroup('g', NOW);
  mergeIncident(g, incident('a', NOW), undefined);
  assert.equal(nextRenderAt(g, NOW + 1000, T, true, false), NOW + 30_000);
  assert.equal(nextRenderAt(g, NOW + 1000, T, true, true), NOW + 1000, 'test incidents skip the wait');
  Object.assign(g, { parent: { channel: 'C', ts: '1.1' }, renderedAt: NOW + 30_000, rendered: g.version });
  assert.equal(nextRenderAt(g, NOW + 40_000, T, false, false), undefined, 'nothing new');
  mergeIncident(g, incident('a', NOW + 40_000), undefined);
  assert.equal(nextRenderAt(g, NOW + 40_000, T, false, false), NOW + 330_000);
  assert.equal(nextRenderAt(g, NOW + 40_000, T, true, false), NOW + 40_000);
  assert.equal(isExpired(g, NOW + 30_000 + T.repeatMs, T), true, 'quiet for repeat_interval: a new message');
});

test('groups are per rule and channel, drills apart; series past the cap are counted', () => {
  assert.notEqual(groupId(incident('a', NOW), 'C1'), groupId(incident('a', NOW), 'C2'));
  assert.notEqual(groupId(incident('a', NOW), 'C1'), groupId(incident('a', NOW, { test: true }), 'C1'));
  // A pod's incidents group across hosts; a node-level incident's message is its host's.
  assert.equal(groupId(incident('a', NOW), 'C1'), groupId(incident('b', NOW, { host: 'node-b' }), 'C1'));
  const node = (host: string) => incident('', NOW, { host, target: {} });
  assert.notEqual(groupId(node('node-a'), 'C1'), groupId(node('node-b'), 'C1'));
  assert.equal(groupId(node('node-a'), 'C1'), groupId(node('node-a'), 'C1'));
  const g = newGroup('g', NOW);
  for (let k = 0; k < MAX_GROUP_SERIES + 3; k++) mergeIncident(g, incident(`p${k}`, NOW), undefined);
  assert.equal(Object.keys(g.series).length, MAX_GROUP_SERIES);
  assert.equal(g.extraSeries, 3);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  advance,
  inCooldown,
  isIdle,
  markFiring,
  markResolved,
  markSuppressed,
  TripLog,
  type SeriesState,
} from '../../../src/rules/evaluate/lifecycle.ts';

const rule = { forMs: 3000, keepFiringForMs: 2000, cooldownMs: 10_000 };

test('inactive → pending → (for elapsed) trip → firing → clear for keep_firing_for → resolve', () => {
  const s: SeriesState = { phase: 'inactive' };
  assert.equal(advance(s, 1000, false, false, rule), 'none');
  assert.equal(advance(s, 2000, true, true, rule), 'none');
  assert.equal(s.phase, 'pending');
  assert.equal(s.pendingSince, 2000);
  assert.equal(advance(s, 4000, true, true, rule), 'none');
  assert.equal(advance(s, 5000, true, true, rule), 'trip');
  markFiring(s, 5000, 'id-1');
  assert.equal(advance(s, 6000, false, false, rule), 'none', 'clear, but keep_firing_for runs');
  assert.equal(advance(s, 7000, false, true, rule), 'none', 'holding again resets the clear clock');
  assert.equal(s.clearSince, undefined);
  assert.equal(advance(s, 8000, false, false, rule), 'none');
  assert.equal(advance(s, 10_000, false, false, rule), 'resolve');
  markResolved(s, 10_000);
  assert.equal(s.phase, 'inactive');
  assert.ok(inCooldown(s, 14_999, rule), 'cooldown: 10 s from the trip at 5 s');
  assert.ok(!inCooldown(s, 15_000, rule));
  assert.ok(!isIdle(s, 12_000, rule), 'kept while the cooldown runs');
  assert.ok(isIdle(s, 15_000, rule));
});

test('pending that stops holding clears; a suppressed trip retries until it clears', () => {
  const s: SeriesState = { phase: 'inactive' };
  advance(s, 0, true, true, rule);
  assert.equal(advance(s, 1000, false, false, rule), 'cleared');
  assert.equal(s.pendingSince, undefined);
  advance(s, 2000, true, true, rule);
  assert.equal(advance(s, 5000, true, true, rule), 'trip');
  markSuppressed(s, 'silenced');
  assert.equal(advance(s, 6000, true, true, rule), 'trip', 'tries again each tick');
  assert.equal(advance(s, 7000, false, false, rule), 'cleared');
  assert.equal(s.reason, undefined);
});

test('for 0 trips on the first active tick', () => {
  const s: SeriesState = { phase: 'inactive' };
  assert.equal(advance(s, 0, true, true, { ...rule, forMs: 0 }), 'trip');
});

test('trip log counts the last hour only', () => {
  const log = new TripLog();
  log.record(0);
  log.record(1000);
  log.record(3_599_999);
  assert.equal(log.count(3_600_000), 2);
  assert.equal(log.count(3_601_000), 1);
});

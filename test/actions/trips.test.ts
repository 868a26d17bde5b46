/** Trip generations: repeats of one trip share ids, a new trip after resolution gets new ones, engines agree. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TripTracker } from '../../src/actions/trips.ts';
import { MemoryStore } from '../../src/actions/store-memory.ts';
import type { ActionStore } from '../../src/actions/types.ts';
import { makeIncident, jobInput } from './fixtures/incident.ts';

const specs = [{ type: 'log' as const }];
const inc = makeIncident();
const seq = async (t: TripTracker, event: 'firing' | 'resolved' | 'scaled', extra?: string) =>
  (await t.assign({ ...jobInput(inc, specs, 0, event), seq: extra })).seq;

test('firing opens a generation, repeats keep it, resolved closes it, the next firing opens the next', async () => {
  const t = new TripTracker(new MemoryStore(), 86_400_000);
  assert.equal(await seq(t, 'firing'), 't1');
  assert.equal(await seq(t, 'firing'), 't1');
  assert.equal(await seq(t, 'scaled', 'a'), 't1-a');
  assert.equal(await seq(t, 'resolved'), 't1');
  assert.equal(await seq(t, 'resolved'), 't1');
  assert.equal(await seq(t, 'firing'), 't2');
  assert.equal(await seq(t, 'resolved'), 't2');
});

test('two engines sharing a store derive the same seqs for one trip, in any order', async () => {
  const store = new MemoryStore();
  const a = new TripTracker(store, 1000);
  const b = new TripTracker(store, 1000);
  assert.equal(await seq(a, 'firing'), 't1');
  assert.equal(await seq(b, 'firing'), 't1');
  assert.equal(await seq(b, 'resolved'), 't1');
  assert.equal(await seq(a, 'resolved'), 't1');
  assert.equal(await seq(b, 'firing'), 't2');
  assert.equal(await seq(a, 'firing'), 't2');
});

test('store unreachable: the last known generation, or the incident id (a duplicate rather than a lost trip)', async () => {
  let down = false;
  const inner = new MemoryStore();
  const flaky: ActionStore = {
    get: (k) => (down ? Promise.reject(new Error('down')) : inner.get(k)),
    set: (k, v, ttl) => (down ? Promise.reject(new Error('down')) : inner.set(k, v, ttl)),
    setIfAbsent: (k, v, ttl) => (down ? Promise.reject(new Error('down')) : inner.setIfAbsent(k, v, ttl)),
    del: (k) => (down ? Promise.reject(new Error('down')) : inner.del(k)),
  };
  const t = new TripTracker(flaky, 1000, 100);
  assert.equal(await seq(t, 'firing'), 't1');
  down = true;
  assert.equal(await seq(t, 'firing'), 't1');
  assert.equal(await seq(t, 'resolved'), 't1');
  const fresh = new TripTracker(flaky, 1000, 100);
  assert.equal(await seq(fresh, 'firing'), `i${inc.id}`);
  // A store that hangs counts as down after the timeout.
  const hung = new TripTracker({ ...flaky, get: () => new Promise(() => undefined) }, 1000, 50);
  assert.equal(await seq(hung, 'firing'), `i${inc.id}`);
});

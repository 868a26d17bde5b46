// The Slack incident group's lock: a run of a job takes it over from an earlier run of the same job (its engine died),
// the earlier run then knows it lost it (it must not post), and releasing never frees another run's lock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupLock } from '../../../src/actions/slack/group-lock.ts';
import { MemoryStore } from '../../../src/actions/store-memory.ts';
import { RetryableError } from '../../../src/actions/errors.ts';

const opts = { maxTries: 2, aborted: () => false, sleep: async () => {} };

test('a later run of the same job takes the lock over; the earlier one then fails its check and frees nothing', async () => {
  const store = new MemoryStore();
  const first = await GroupLock.take(store, 'lock:g', 'job-1', opts);
  await first.check();
  const second = await GroupLock.take(store, 'lock:g', 'job-1', opts);
  await second.check();
  await assert.rejects(first.check(), (e: unknown) => e instanceof RetryableError && e.reason === 'group_taken');
  await first.release();
  assert.match((await store.get('lock:g'))!, /^job-1#/, "the earlier run's release leaves the later run's lock");
  // Another job waits, then goes back to the queue.
  await assert.rejects(
    GroupLock.take(store, 'lock:g', 'job-2', opts),
    (e: unknown) => e instanceof RetryableError && e.reason === 'group_busy',
  );
  await second.release();
  assert.equal(await store.get('lock:g'), undefined);
  // A job whose id merely starts like another's does not take its lock over.
  await GroupLock.take(store, 'lock:h', 'job-1', opts);
  await assert.rejects(GroupLock.take(store, 'lock:h', 'job', opts), /another delivery holds/);
});

/** Job ids are stable across processes and hosts, and distinct per action, event, index and seq. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jobId, toJob } from '../../src/actions/job-id.ts';
import { makeIncident, jobInput } from './fixtures/incident.ts';

const base = { incidentKey: 'cpu-throttling{pod="web-1"}', actionType: 'slack', event: 'firing' as const, index: 0 };

test('the same parts give the same id (a fixed value: it must not change between releases or hosts)', () => {
  assert.equal(jobId(base), jobId({ ...base }));
  assert.equal(jobId(base), 'slack-firing-e2cc767de488f22408468fc511d11cb9');
  assert.match(jobId(base), /^slack-firing-[0-9a-f]{32}$/);
  assert.ok(!jobId(base).includes(':'));
});

test('each part changes the id', () => {
  const ids = new Set([
    jobId(base),
    jobId({ ...base, incidentKey: 'cpu-throttling{pod="web-2"}' }),
    jobId({ ...base, actionType: 'scale' }),
    jobId({ ...base, event: 'resolved' }),
    jobId({ ...base, index: 1 }),
    jobId({ ...base, seq: '1' }),
  ]);
  assert.equal(ids.size, 6);
  // No separator ambiguity: moving text between key and seq changes the id.
  assert.notEqual(jobId({ ...base, incidentKey: 'a', seq: 'b,c' }), jobId({ ...base, incidentKey: 'a,b', seq: 'c' }));
});

test('two hosts reporting one incident key (different trip ids, hosts, times) derive one job id', () => {
  const a = makeIncident('r', { pod: 'p' }, { host: 'host-a', id: 'x-1' });
  const b = makeIncident('r', { pod: 'p' }, { host: 'host-b', id: 'x-2', firedAt: '2024-01-01T00:00:00Z' });
  const specs = [{ type: 'log' as const }];
  assert.equal(toJob(jobInput(a, specs), 1).id, toJob(jobInput(b, specs), 2).id);
  assert.equal(toJob(jobInput(a, specs), 5).enqueuedAt, 5);
});

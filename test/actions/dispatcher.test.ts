/** The dispatcher: one job per action spec, in order, with the event from the incident's status. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildConfig } from '../../src/config.ts';
import { dispatch } from '../../src/actions/dispatcher.ts';
import { MemoryQueue } from '../../src/actions/queue-memory.ts';
import { resolveQueueOptions } from '../../src/actions/queue-options.ts';
import { ActionMetrics } from '../../src/actions/metrics.ts';
import { ACTIONS } from '../../src/actions/registry.ts';
import { jobId } from '../../src/actions/job-id.ts';
import type { ActionSpec } from '../../src/rules/types.ts';
import { hasCode } from '../../src/errors.ts';
import { makeIncident, recordingLogger } from './fixtures/incident.ts';

const actions: ActionSpec[] = [{ type: 'log' }, { type: 'webhook', url: 'http://127.0.0.1:1/', timeoutMs: 1000 }];
const rule = { name: 'cpu-throttling', actions };

function queue(): MemoryQueue {
  return new MemoryQueue(
    resolveQueueOptions({
      config: buildConfig({}, {}),
      log: recordingLogger(),
      registry: ACTIONS,
      metrics: new ActionMetrics(),
    }),
  );
}

test('one job per action spec, ids derived from key, type, event and index', async () => {
  const q = queue();
  const inc = makeIncident();
  const res = await dispatch(q, rule, inc);
  assert.deepEqual(
    res.map((r) => r.id),
    [
      jobId({ incidentKey: inc.key, actionType: 'log', event: 'firing', index: 0, seq: 't1' }),
      jobId({ incidentKey: inc.key, actionType: 'webhook', event: 'firing', index: 1, seq: 't1' }),
    ],
  );
  assert.equal(await q.depth(), 2);
  // Same incident again (another host, a restart): nothing new.
  assert.ok((await dispatch(q, rule, { ...inc, host: 'b' })).every((r) => r.duplicate));
  // Resolution: new jobs with the resolved event.
  const resolved = await dispatch(q, rule, { ...inc, status: 'resolved' });
  assert.ok(resolved.every((r) => !r.duplicate && r.id.includes('-resolved-')));
  assert.equal(await q.depth(), 4);
  // The series trips again after resolving: a new trip (generation 2), new deliveries.
  const again = await dispatch(q, rule, { ...inc, id: 'second-trip' });
  assert.ok(again.every((r) => !r.duplicate));
  assert.equal(again[0].id, jobId({ incidentKey: inc.key, actionType: 'log', event: 'firing', index: 0, seq: 't2' }));
  await q.close();
});

test('an incident of another rule is refused', async () => {
  await assert.rejects(dispatch(queue(), { name: 'other', actions }, makeIncident()), (e) =>
    hasCode(e, 'ACTION_ERR_CONFIG'),
  );
});

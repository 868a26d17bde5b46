/** Queue options from the config: `actions.lock_duration` sets the workers' lock and stalled-job check (fleet recovery). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildConfig } from '../../src/config.ts';
import { resolveQueueOptions } from '../../src/actions/queue-options.ts';
import { ActionMetrics } from '../../src/actions/metrics.ts';
import { ACTIONS } from '../../src/actions/registry.ts';
import { recordingLogger } from './fixtures/incident.ts';

const resolve = (raw: object) =>
  resolveQueueOptions({
    config: buildConfig(raw, {}),
    log: recordingLogger(),
    registry: ACTIONS,
    metrics: new ActionMetrics(),
  });

test('actions.lock_duration: 30 s by default; sets the lock and the stalled-job interval; bounded 1 s..1 h', () => {
  const d = resolve({});
  assert.equal(d.lockDurationMs, 30_000);
  assert.equal(d.stalledIntervalMs, 30_000);
  const short = resolve({ actions: { lock_duration: '2s' } });
  assert.equal(short.lockDurationMs, 2000);
  assert.equal(short.stalledIntervalMs, 2000);
  for (const bad of ['500ms', '2h', 'soon'])
    assert.throws(() => buildConfig({ actions: { lock_duration: bad } }, {}), /actions\.lock_duration/, bad);
});

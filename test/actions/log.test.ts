/** The log action writes one structured line with the incident's identity and the bundle's diagnosis. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildConfig } from '../../src/config.ts';
import { logAction } from '../../src/actions/log.ts';
import { toJob } from '../../src/actions/job-id.ts';
import { MemoryStore } from '../../src/actions/store-memory.ts';
import type { ActionJob } from '../../src/actions/types.ts';
import type { LogActionSpec } from '../../src/actions/log.ts';
import { makeIncident, jobInput, recordingLogger } from './fixtures/incident.ts';

test('one info line per job', async () => {
  const log = recordingLogger();
  const job = toJob(
    jobInput(makeIncident('r', { pod: 'p' }, { test: true }), [{ type: 'log' }]),
    1,
  ) as ActionJob<LogActionSpec>;
  const out = await logAction.execute(job, {
    config: buildConfig({}, {}),
    env: {},
    log,
    store: new MemoryStore(),
    attempt: 1,
    signal: new AbortController().signal,
    notify: async () => [],
    schedule: async () => 'none',
    now: Date.now,
  });
  assert.equal(out.status, 'delivered');
  assert.equal(log.lines.length, 1);
  const [line] = log.lines;
  assert.equal(line.level, 'info');
  assert.match(line.msg!, /^\[test\] r on p$/);
  assert.deepEqual(
    { ...(line.obj as Record<string, unknown>) },
    {
      action: 'log',
      job: job.id,
      event: 'firing',
      incident: job.incident.id,
      key: 'r{pod="p"}',
      rule: 'r',
      severity: 'warning',
      status: 'firing',
      value: 0.42,
      threshold: 0.25,
      unit: 'ratio',
      host: 'host-a',
      labels: { pod: 'p' },
      bundle: null,
      cause: null,
      detail: null,
      test: true,
      dryRun: false,
    },
  );
});

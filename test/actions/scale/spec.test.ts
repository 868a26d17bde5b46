// The scale action's spec: its defaults, and YAML as written (snake_case, durations) loaded in camelCase and ms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scaleSpec, SCALE_CAUSES } from '../../../src/actions/scale/spec.ts';

test('defaults come from the scale schema', () => {
  assert.deepEqual(scaleSpec.parse({ type: 'scale' }), {
    type: 'scale',
    target: 'auto',
    step: '+1',
    max: 10,
    cooldownMs: 600_000,
    dryRun: false,
    whenCause: ['limit-bound'],
    verifyMs: 120_000,
    restore: true,
    restoreAfterMs: 600_000,
    approval: 'none',
    approvalTimeoutMs: 900_000,
  });
});

test('written options are converted: snake_case to camelCase, durations to ms, the target copied', () => {
  const target = { kind: 'StatefulSet', namespace: 'db', name: 'pg' } as const;
  const s = scaleSpec.parse({
    type: 'scale',
    target,
    step: 'x1.5',
    max: 4,
    cooldown: '30s',
    dry_run: true,
    when_cause: ['any'],
    verify: '0s',
    restore: false,
    restore_after: '90s',
    approval: 'required',
    approval_timeout: '5m',
  });
  assert.deepEqual(s, {
    type: 'scale',
    target,
    step: 'x1.5',
    max: 4,
    cooldownMs: 30_000,
    dryRun: true,
    whenCause: ['any'],
    verifyMs: 0,
    restore: false,
    restoreAfterMs: 90_000,
    approval: 'required',
    approvalTimeoutMs: 300_000,
  });
  assert.notEqual(s.target, target);
});

test('when_cause takes the bundle causes and any, nothing else', () => {
  for (const c of SCALE_CAUSES) assert.ok(scaleSpec.safeParse({ type: 'scale', when_cause: [c] }).success, c);
  assert.equal(scaleSpec.safeParse({ type: 'scale', when_cause: ['limit_bound'] }).success, false);
  assert.equal(scaleSpec.safeParse({ type: 'scale', when_cause: [] }).success, false);
});

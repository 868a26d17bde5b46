import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IncidentSchema } from '../src/incident-schema.ts';
import { targetName, type Incident } from '../src/incident.ts';

const base: Incident = {
  id: 'abc-1',
  key: 'cpu-throttling{cgroup="/kubepods/burstable/podu/c"}',
  rule: 'cpu-throttling',
  status: 'firing',
  severity: 'warning',
  labels: { cgroup: '/kubepods/burstable/podu/c', rule: 'cpu-throttling' },
  annotations: {},
  target: {
    cgroupId: '4242',
    cgroupPath: '/kubepods/burstable/podu/c',
    container: 'app',
    containerId: 'e'.repeat(64),
    workload: 'Deployment/web',
    pod: { uid: '9d2b6a4e-1c3f-4e5a-8b7c-0d1e2f3a4b5c', qos: 'burstable', name: 'web-7d9f-abcde', namespace: 'shop' },
  },
  value: 1,
  threshold: 0.5,
  unit: 'ratio',
  stats: {},
  startsAt: '2026-11-25T10:00:00.000Z',
  firedAt: '2026-11-25T10:00:30.000Z',
  host: 'node-a',
};
const withTarget = (t: object): unknown => ({ ...base, target: { ...base.target, ...t } });

test('incident schema: the target names cross the channel', () => {
  assert.deepEqual(IncidentSchema.parse(base).target, base.target);
  assert.ok(IncidentSchema.safeParse(withTarget({ workload: 'nginx.service' })).success);
});

test('incident schema: the target names are bounded and shaped', () => {
  const refused = (t: object, why: string): void =>
    assert.equal(IncidentSchema.safeParse(withTarget(t)).success, false, why);
  refused({ containerId: 'not-hex' }, 'a container id is hex');
  refused({ containerId: 'e'.repeat(129) }, 'a container id is at most 128 hex');
  refused({ container: 'x'.repeat(257) }, 'a container name is bounded');
  refused({ workload: 'x'.repeat(513) }, 'a workload is bounded');
  refused({ pod: { ...base.target.pod, name: 'x'.repeat(257) } }, 'a pod name is bounded');
  refused({ pod: { ...base.target.pod, labels: {} } }, 'no unknown keys in the pod');
  refused({ image: 'nginx' }, 'no unknown keys in the target');
});

test('targetName: what people search for, from whatever names the target has', () => {
  assert.equal(targetName(base.target), 'shop/web-7d9f-abcde (Deployment shop/web), container app');
  assert.equal(targetName({ pod: { uid: 'u', name: 'db-0', namespace: 'data' } }), 'data/db-0');
  assert.equal(
    targetName({ pod: { uid: 'u', name: 'db-0', namespace: 'data' }, workload: 'StatefulSet/db' }),
    'data/db-0 (StatefulSet data/db)',
  );
  assert.equal(targetName({ workload: 'nginx.service' }), 'nginx.service');
  assert.equal(targetName({ pod: { uid: 'u' }, container: 'app' }), 'container app');
  assert.equal(targetName({ pod: { uid: 'u' }, cgroupPath: '/x' }), '');
  assert.equal(targetName({}), '');
});

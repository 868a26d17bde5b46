// Alert labels → capture target on this host (pure), and the receiver's checks that need no Alertmanager: a
// payload out of shape is a 400 naming the field, a repeat (same fingerprint and startsAt) asks for no second
// capture, a busy refusal answers 503 so Alertmanager sends again, a resolve ends the alert's incident.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { alertTarget, hostPart } from '../../src/alertmanager/target.ts';
import { AlertmanagerReceiver, REPORT_TTL_MS, ruleName } from '../../src/alertmanager/receiver.ts';
import { buildConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import type { CaptureReply, CaptureRequestMsg } from '../../src/capture/request-schema.ts';
import type { IncidentReport } from '../../src/pipeline/events.ts';
import type { Incident } from '../../src/incident.ts';
import { MemoryStore } from '../../src/actions/store-memory.ts';
import type { ActionStore } from '../../src/actions/types.ts';

const HOST = ['node-1', '10.0.0.5'];
const CID = 'ab'.repeat(32);

test('alert labels name a target here, another host, or nothing', () => {
  const cases: [Record<string, string>, unknown][] = [
    [
      { namespace: 'shop', pod: 'web-1', container: 'app' },
      { kind: 'pod', namespace: 'shop', pod: 'web-1', container: 'app' },
    ],
    // A pod alert's instance is the exporter's (kube-state-metrics), not the pod's node: the probe side decides.
    [
      { namespace: 'shop', pod: 'web-1', instance: 'ksm:8080' },
      { kind: 'pod', namespace: 'shop', pod: 'web-1' },
    ],
    [
      { namespace: 'shop', pod: 'web-1', container: 'POD' },
      { kind: 'pod', namespace: 'shop', pod: 'web-1' },
    ],
    [{ container_id: `containerd://${CID}` }, { kind: 'container', id: CID }],
    [
      { cgroup: '/system.slice/nginx.service', instance: 'node-1:9464' },
      { kind: 'cgroup', path: '/system.slice/nginx.service' },
    ],
    [
      { pid: '4242', node: 'NODE-1' },
      { kind: 'pid', pid: 4242 },
    ],
    [{ alertname: 'NodeLoad', instance: '10.0.0.5:9100' }, { kind: 'node' }],
    [{ alertname: 'NodeLoad', nodename: 'node-1.example.com' }, { kind: 'node' }],
  ];
  for (const [labels, want] of cases)
    assert.deepEqual(alertTarget(labels, HOST), { ok: true, target: want }, JSON.stringify(labels));
  const other = alertTarget({ cgroup: '/system.slice/nginx.service', instance: 'node-2:9464' }, HOST);
  assert.equal(other.ok === false && other.reason, 'other_host');
  assert.equal(
    (alertTarget({ alertname: 'X', instance: 'node-2:9100' }, HOST) as { reason: string }).reason,
    'other_host',
  );
  // A pid or a cgroup path names something on every node: without a host label naming this one, not here.
  for (const labels of [
    { cgroup: '/system.slice/nginx.service' },
    { pid: '4242' },
    { pid: '4242', job: 'node-1' },
  ] as Record<string, string>[]) {
    const t = alertTarget(labels, HOST);
    assert.equal(t.ok === false && t.reason, 'other_host', JSON.stringify(labels));
    assert.match(t.ok ? '' : t.detail, /must name this host/);
  }
  for (const labels of [
    { alertname: 'Watchdog' },
    { cgroup: '/../etc' },
    { pid: '-1' },
    { namespace: 'Shop!', pod: 'x' },
  ] as Record<string, string>[])
    assert.equal((alertTarget(labels, HOST) as { reason: string }).reason, 'no_target', JSON.stringify(labels));
  assert.equal(hostPart('[::1]:9100'), '::1');
  assert.equal(hostPart('10.0.0.5'), '10.0.0.5');
  assert.equal(ruleName('CPUThrottlingHigh'), 'cputhrottlinghigh');
  assert.equal(ruleName('KubePod_CrashLooping!'), 'kubepod-crashlooping');
  assert.equal(ruleName(undefined), 'alertmanager-capture');
});

function receiver(reply: () => CaptureReply, now?: () => number, store?: ActionStore) {
  const asked: CaptureRequestMsg[] = [];
  const recorded: IncidentReport[] = [];
  const dispatched: { rule: string; event: string; status: string }[] = [];
  let listener: (r: IncidentReport) => void = () => {};
  const r = new AlertmanagerReceiver({
    config: buildConfig({ host: 'node-1', alertmanager: { receive: { actions: [] } } }, {}),
    log: createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })),
    request: async (m) => (asked.push(m), reply()),
    onRequested: (l) => ((listener = l), () => undefined),
    joinable: () => undefined,
    record: async (rep) => void recorded.push(rep),
    dispatch: async (rule, inc, o) =>
      void dispatched.push({ rule: rule.name, event: String(o.event), status: inc.status }),
    addRule: () => undefined,
    actions: [],
    now,
    store,
  });
  return { r, asked, recorded, dispatched, report: (rep: IncidentReport) => listener(rep) };
}

const alert = (status: 'firing' | 'resolved', startsAt = '2026-12-03T06:00:00Z') => ({
  status,
  labels: { alertname: 'PodSlow', namespace: 'shop', pod: 'web-1' },
  annotations: { summary: 'slow' },
  startsAt,
  endsAt: status === 'resolved' ? '2026-12-03T06:05:00Z' : '0001-01-01T00:00:00Z',
  generatorURL: 'http://prometheus/graph',
  fingerprint: 'a1b2c3d4e5f60718',
});
const payload = (alerts: unknown[]) => ({ version: '4', status: 'firing', receiver: 'tripline', alerts });

test('receiver: bad payload → 400; repeats dropped; busy → 503; resolve ends the incident after its capture', async () => {
  let next: CaptureReply = { accepted: false, code: 'busy', reason: 'cap reached' };
  const h = receiver(() => next);
  const bad = await h.r.handle({ version: '3', alerts: [] });
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(bad.json), /version/);
  assert.equal((await h.r.handle({ ...payload([{ ...alert('firing'), fingerprint: 'NOT HEX' }]) })).status, 400);

  assert.equal((await h.r.handle(payload([alert('firing')]))).status, 503, 'busy: Alertmanager retries');
  next = {
    accepted: true,
    captureId: 'cap-1',
    incidentId: 'cap-1',
    key: 'podslow{}',
    durationMs: 10_000,
    probes: ['profile', 'offcpu'],
    target: { cgroupId: '42' },
  };
  assert.equal((await h.r.handle(payload([alert('firing')]))).status, 200);
  assert.equal((await h.r.handle(payload([alert('firing')]))).status, 200);
  assert.equal(h.asked.length, 2, 'the repeat asked for no capture');
  assert.equal(h.asked[1].name, 'podslow');
  assert.deepEqual(h.asked[1].target, { kind: 'pod', namespace: 'shop', pod: 'web-1' });
  assert.equal(h.asked[1].durationMs, 10_000);
  assert.deepEqual(h.asked[1].probes, ['profile', 'offcpu']);

  // The resolve comes before the capture's bundle: it waits for it, so firing is dispatched first.
  await h.r.handle({ ...payload([alert('resolved')]), status: 'resolved' });
  assert.deepEqual(h.dispatched, []);
  const inc = { id: 'cap-1', key: 'podslow{}', rule: 'podslow', status: 'firing' } as Incident;
  const request = { captureId: 'cap-1', source: { kind: 'alertmanager' as const, id: 'a1b2c3d4e5f60718' } };
  h.report({ incident: inc, capture: 'running', request });
  h.report({ incident: inc, capture: 'done', request });
  for (let i = 0; i < 50 && h.dispatched.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(h.dispatched, [
    { rule: 'podslow', event: 'firing', status: 'firing' },
    { rule: 'podslow', event: 'resolved', status: 'resolved' },
  ]);
  assert.equal(h.recorded.at(-1)?.incident.resolvedAt, '2026-12-03T06:05:00Z');
  assert.deepEqual(
    { captured: h.r.counts.captured, duplicate: h.r.counts.duplicate, refused: h.r.counts.refused },
    { captured: 1, duplicate: 1, refused: 1 },
  );
});

test('receiver: a capture never reported done is given up after a while; its alert may capture again', async () => {
  let now = 1_000_000;
  const accepted = (captureId: string): CaptureReply => ({
    accepted: true,
    captureId,
    incidentId: captureId,
    key: `${captureId}{}`,
    durationMs: 10_000,
    probes: ['profile'],
    target: { cgroupId: '42' },
  });
  let next = accepted('cap-1');
  const h = receiver(
    () => next,
    () => now,
  );
  assert.equal((await h.r.handle(payload([alert('firing')]))).status, 200);
  const inc = { id: 'cap-1', key: 'cap-1{}', rule: 'podslow', status: 'firing' } as Incident;
  const request = { captureId: 'cap-1', source: { kind: 'alertmanager' as const, id: 'a1b2c3d4e5f60718' } };
  h.report({ incident: inc, capture: 'running', request }); // then the probe side restarts: no `done`
  next = accepted('cap-2');
  const other = { ...alert('firing'), fingerprint: 'b1b2c3d4e5f60718' };
  assert.equal((await h.r.handle(payload([other]))).status, 200);
  assert.equal(h.r.pending, 2);
  now += REPORT_TTL_MS - 1000;
  await h.r.handle(payload([{ ...alert('firing'), fingerprint: 'c1', labels: { alertname: 'Watchdog' } }]));
  assert.equal(h.r.pending, 2, 'not yet');
  now += 2000;
  await h.r.handle(payload([{ ...alert('firing'), fingerprint: 'c1', labels: { alertname: 'Watchdog' } }]));
  assert.equal(h.r.pending, 0, 'both given up');
  for (let i = 0; i < 50 && h.dispatched.length < 1; i++) await new Promise((r) => setTimeout(r, 10));
  // The one reported running gets its actions, without a bundle; the other captures again on its next repeat.
  assert.deepEqual(h.dispatched, [{ rule: 'podslow', event: 'firing', status: 'firing' }]);
  next = accepted('cap-3');
  const again = await h.r.handle(payload([other]));
  assert.equal((again.json as { alerts: { outcome: string }[] }).alerts[0].outcome, 'captured');
  assert.equal((await h.r.handle(payload([alert('firing')]))).status, 200);
  assert.equal(h.asked.length, 3, 'the alert reported running is not captured twice');
});

test('receiver: an alert captured before a restart is a repeat after it (the action store remembers); a refused one is not', async () => {
  const store = new MemoryStore();
  const accepted: CaptureReply = {
    accepted: true,
    captureId: 'cap-1',
    incidentId: 'cap-1',
    key: 'podslow{}',
    durationMs: 10_000,
    probes: ['profile'],
    target: { cgroupId: '42' },
  };
  const before = receiver(() => accepted, undefined, store);
  assert.equal((await before.r.handle(payload([alert('firing')]))).status, 200);
  assert.equal(before.asked.length, 1);
  before.r.close();
  // The engine restarts: a new receiver, the same store. Alertmanager repeats the alert.
  const after = receiver(() => accepted, undefined, store);
  const res = await after.r.handle(payload([alert('firing')]));
  assert.deepEqual((res.json as { alerts: unknown[] }).alerts, [
    { fingerprint: 'a1b2c3d4e5f60718', outcome: 'duplicate', detail: 'captured before a restart' },
  ]);
  assert.equal(after.asked.length, 0, 'no second capture');
  // A new firing of the alert (a new startsAt) captures.
  await after.r.handle(payload([alert('firing', '2026-12-03T07:00:00Z')]));
  assert.equal(after.asked.length, 1);
  after.r.close();

  // A refused capture leaves no mark: the repeat after a restart captures.
  const refusedStore = new MemoryStore();
  const busy = receiver(() => ({ accepted: false, code: 'busy', reason: 'cap reached' }), undefined, refusedStore);
  assert.equal((await busy.r.handle(payload([alert('firing')]))).status, 503);
  busy.r.close();
  const next = receiver(() => accepted, undefined, refusedStore);
  await next.r.handle(payload([alert('firing')]));
  assert.equal(next.asked.length, 1);
  next.r.close();
  // A store that does not answer loses no capture.
  const broken = {
    get: async () => undefined,
    set: async () => undefined,
    del: async () => undefined,
    setIfAbsent: async () => {
      throw new Error('redis down');
    },
  } satisfies ActionStore;
  const down = receiver(() => accepted, undefined, broken);
  await down.r.handle(payload([alert('firing')]));
  assert.equal(down.asked.length, 1);
  down.r.close();
});

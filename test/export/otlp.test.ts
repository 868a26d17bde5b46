// The OTLP export against a local OTLP/HTTP receiver that decodes what arrives: an incident's lifecycle from the
// network side (firing, capture done, actions, resolved), retries of a collector that is briefly down, drops
// counted when it refuses or when the queue is full, the headers file, and config errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { buildConfig } from '../../src/config.ts';
import { NetworkSide, ruleActions } from '../../src/split/network-side.ts';
import { localSilences } from '../../src/rules/silence-service.ts';
import { Suppressor } from '../../src/rules/evaluate/suppress.ts';
import { logAction } from '../../src/actions/log.ts';
import type { Action } from '../../src/actions/types.ts';
import type { BundleRef } from '../../src/bundle/types.ts';
import { OtlpIncidentExporter } from '../../src/export/otlp-exporter.ts';
import { reportRecord } from '../../src/export/otlp-records.ts';
import { makeIncident, recordingLogger } from '../actions/fixtures/incident.ts';
import { rule } from '../support/rule-fixtures.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';
import { parseProm } from '../support/prom-parse.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ms: number, ok: () => boolean, state: () => string = () => ''): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} ${state()}`);
    await sleep(25);
  }
}

/** Waits until a sample reaches `value` (the receiver has the records a moment before the exporter hears back). */
async function untilSample(
  reg: Registry,
  name: string,
  value: number,
  labels: Record<string, string> = {},
): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    const v = await sample(reg, name, labels);
    if (v === value) return;
    if (Date.now() > end) assert.equal(v, value, `${name}${JSON.stringify(labels)}`);
    await sleep(25);
  }
}

/** Value of one sample in a registry's exposition. */
async function sample(reg: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  for (const f of parseProm(await reg.metrics()).values())
    for (const s of f.samples)
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
  return undefined;
}

const BUNDLE = {
  id: '20231114T221330-cpu-throttling-0a1b2c3d',
  dir: '/var/lib/tripline/bundles/20231114T221330-cpu-throttling-0a1b2c3d',
  tarball: '/var/lib/tripline/bundles/20231114T221330-cpu-throttling-0a1b2c3d.tar.gz',
  partial: false,
  findings: {
    diagnosis: { cause: 'limit-bound', summary: 'throttled in 84% of CFS periods', evidence: {} },
    headlines: [],
    neighbours: [],
    topOnCpu: [],
    topOffCpu: [],
    slowSyscalls: [],
    slowQueries: [],
    shifts: {},
  },
} as unknown as BundleRef;

test('an incident on the network side reaches the collector as OTLP log records: firing, capture, actions, resolved', async () => {
  const rx = await new OtlpReceiver().start();
  const dir = mkdtempSync(join(tmpdir(), 'tripline-otlp-'));
  const registry = new Registry();
  const ns = new NetworkSide({
    config: buildConfig(
      { listen: '127.0.0.1:0', data_dir: dir, host: 'node-7', otlp: { endpoint: rx.url, flush_interval: '50ms' } },
      {},
    ),
    log: recordingLogger() as never,
    probe: {
      metrics: async () => ({ text: '', contentType: 'text/plain' }),
      silences: localSilences(() => new Suppressor()),
    },
    apiToken: 'otlp-test-token-0123456789abcdef',
    actions: {
      log: {
        ...logAction,
        execute: async (job) => ({ status: 'delivered', summary: `logged ${job.event}` }),
      } as Action,
    },
    metricsRegistry: registry,
  });
  try {
    await ns.start();
    const r = rule({ name: 'cpu-throttling', actions: [{ type: 'log' }] });
    const [v] = ruleActions([r]);
    ns.setRules([v]);
    for (const status of ['firing', 'resolved'])
      assert.equal(await sample(registry, 'tripline_incidents_total', { rule: 'cpu-throttling', status }), 0, 'from 0');
    const inc = makeIncident(
      'cpu-throttling',
      { pod: 'web-1', namespace: 'shop' },
      {
        target: {
          cgroupPath: '/kubepods/burstable/pod9d2b/3f1a',
          cgroupId: '48213',
          container: 'app',
          pod: { uid: '9d2b', name: 'web-1', namespace: 'shop' },
          workload: 'Deployment/web',
        },
      },
    );
    await ns.record({ incident: inc, capture: 'running' });
    await ns.record({ incident: inc, capture: 'done', bundle: BUNDLE, dispatch: 'firing', ruleHash: v.hash });
    const resolved = { ...inc, status: 'resolved' as const, resolvedAt: '2023-11-14T22:20:00.000Z' };
    await ns.record({ incident: resolved, capture: 'none', dispatch: 'resolved', ruleHash: v.hash });
    await until(
      '5 records',
      10_000,
      () => rx.records.length >= 5,
      () => JSON.stringify(rx.records.map((x) => x.eventName)),
    );
    await sleep(200);
    const events = rx.records.map(
      (x) =>
        `${x.eventName}${x.attributes['tripline.action.event'] ? `/${x.attributes['tripline.action.event']}` : ''}`,
    );
    assert.deepEqual(
      [...events].sort(),
      [
        'incident.action/firing',
        'incident.action/resolved',
        'incident.capture',
        'incident.firing',
        'incident.resolved',
      ],
      'each step once (the capture starting is no step)',
    );
    assert.ok(events.indexOf('incident.firing') < events.indexOf('incident.capture'));
    assert.ok(events.indexOf('incident.capture') < events.indexOf('incident.action/firing'));
    const firing = rx.records.find((x) => x.eventName === 'incident.firing')!;
    assert.deepEqual(firing.resource['service.name'], 'tripline');
    assert.deepEqual(firing.resource['host.name'], 'node-7');
    assert.equal(firing.scope, 'tripline.incidents');
    assert.equal(firing.severityText, 'WARN');
    assert.equal(firing.body, 'cpu-throttling on web-1');
    assert.equal(firing.timeUnixNano, String(Date.parse(inc.firedAt) * 1e6));
    for (const [k, val] of Object.entries({
      'tripline.incident.id': inc.id,
      'tripline.incident.key': inc.key,
      'tripline.rule': 'cpu-throttling',
      'tripline.severity': 'warning',
      'tripline.value': 0.42,
      'k8s.namespace.name': 'shop',
      'k8s.pod.name': 'web-1',
      'k8s.container.name': 'app',
      'tripline.workload': 'Deployment/web',
      'tripline.label.namespace': 'shop',
      'tripline.cgroup_id': '48213',
    }))
      assert.deepEqual(firing.attributes[k], val, k);
    const capture = rx.records.find((x) => x.eventName === 'incident.capture')!;
    assert.equal(capture.attributes['tripline.bundle.id'], BUNDLE.id);
    assert.equal(capture.attributes['tripline.diagnosis.cause'], 'limit-bound');
    assert.equal(capture.attributes['tripline.bundle.partial'], false);
    const action = rx.records.find((x) => x.eventName === 'incident.action')!;
    assert.equal(action.attributes['tripline.action.type'], 'log');
    assert.equal(action.attributes['tripline.action.state'], 'completed');
    assert.match(String(action.attributes['tripline.action.result']), /logged (firing|resolved)/);
    const res = rx.records.find((x) => x.eventName === 'incident.resolved')!;
    assert.equal(res.severityText, 'INFO');
    assert.equal(res.attributes['tripline.resolved_at'], resolved.resolvedAt);
    await untilSample(registry, 'tripline_otlp_records_exported_total', 5);
    assert.equal(await sample(registry, 'tripline_otlp_records_dropped_total', { reason: 'export_failed' }), 0);
    for (const status of ['firing', 'resolved'])
      assert.equal(await sample(registry, 'tripline_incidents_total', { rule: 'cpu-throttling', status }), 1, status);
    assert.equal(await sample(registry, 'tripline_incidents_firing'), undefined, 'nothing firing after the resolve');
  } finally {
    await ns.stop(2000);
    await rx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** An exporter to `url` with a registry and a recording logger. */
function exporter(url: string, over: Record<string, unknown> = {}) {
  const registry = new Registry();
  const log = recordingLogger();
  const config = buildConfig({ otlp: { endpoint: url, flush_interval: '20ms', ...over } }, {}).otlp;
  const x = new OtlpIncidentExporter({
    config: { ...config, endpoint: url },
    host: 'h',
    log: log as never,
    registry,
    prefix: 'tripline_',
  });
  const emit = (n: number): void => {
    for (let i = 0; i < n; i++) x.emit(reportRecord({ incident: makeIncident(`r${i}`), capture: 'none' }, true)!);
  };
  return { x, registry, log, emit };
}

test('a collector briefly down (503, then 200) gets the records on a retry; nothing dropped', async () => {
  const rx = await new OtlpReceiver().start();
  rx.respond = (n) => (n === 0 ? 503 : 200);
  const e = exporter(rx.url);
  try {
    e.emit(3);
    await until('3 records', 15_000, () => rx.records.length === 3);
    assert.deepEqual(
      rx.requests.map((r) => r.status),
      [503, 200],
    );
    await untilSample(e.registry, 'tripline_otlp_records_exported_total', 3);
    assert.equal(await sample(e.registry, 'tripline_otlp_records_dropped_total', { reason: 'export_failed' }), 0);
  } finally {
    await e.x.stop();
    await rx.stop();
  }
});

test('records the collector refuses are dropped and counted, with one warning per run of failures', async () => {
  const rx = await new OtlpReceiver().start();
  rx.respond = () => 400;
  const e = exporter(rx.url);
  try {
    e.emit(2);
    await until('a refused export', 10_000, () => rx.requests.length >= 1);
    await until('the drop counted', 5000, () => e.log.lines.some((l) => /OTLP export failed/.test(l.msg ?? '')));
    e.emit(1);
    await until('2 refused exports', 10_000, () => rx.requests.length >= 2);
    await sleep(100);
    await untilSample(e.registry, 'tripline_otlp_records_dropped_total', 3, { reason: 'export_failed' });
    assert.equal(e.log.lines.filter((l) => /OTLP export failed/.test(l.msg ?? '')).length, 1);
    rx.respond = () => 200;
    e.emit(1);
    await until('the recovery', 10_000, () => e.log.lines.some((l) => /OTLP export recovered/.test(l.msg ?? '')));
    assert.equal(rx.records.length, 1);
  } finally {
    await e.x.stop();
    await rx.stop();
  }
});

test('past max_queue records waiting or in flight, new records are dropped and counted (queue_full); after stop too (shutdown)', async () => {
  const rx = await new OtlpReceiver().start();
  rx.hold = true;
  const e = exporter(rx.url, { max_queue: 4, max_batch: 2 });
  try {
    e.emit(10);
    assert.equal(await sample(e.registry, 'tripline_otlp_records_dropped_total', { reason: 'queue_full' }), 6);
    await until('the first request', 5000, () => rx.requests.length >= 1);
    rx.release();
    await until('4 records', 10_000, () => rx.records.length === 4);
    await untilSample(e.registry, 'tripline_otlp_records_exported_total', 4);
    e.emit(1);
    await untilSample(e.registry, 'tripline_otlp_records_exported_total', 5);
    await e.x.stop();
    e.emit(2);
    assert.equal(await sample(e.registry, 'tripline_otlp_records_dropped_total', { reason: 'shutdown' }), 2);
    assert.equal(rx.records.length, 5);
  } finally {
    await e.x.stop();
    await rx.stop();
  }
});

test('otlp.headers_file: its headers go with every export and never into the logs; a bad file names its line', async () => {
  const rx = await new OtlpReceiver().start();
  rx.respond = (n) => (n === 0 ? 400 : 200);
  const dir = mkdtempSync(join(tmpdir(), 'tripline-otlp-'));
  const file = join(dir, 'headers');
  writeFileSync(file, '# the collector\nAuthorization: Bearer otlp-secret-42\nX-Scope-OrgID: tenant-1\n');
  const e = exporter(rx.url, { headers_file: file });
  try {
    e.emit(1);
    await until('a request', 10_000, () => rx.requests.length >= 1);
    e.emit(1);
    await until('the record', 10_000, () => rx.records.length >= 1);
    assert.equal(rx.requests[0].headers.authorization, 'Bearer otlp-secret-42');
    assert.equal(rx.requests[1].headers['x-scope-orgid'], 'tenant-1');
    assert.ok(!JSON.stringify(e.log.lines).includes('otlp-secret-42'), 'the header value is never logged');
    writeFileSync(file, 'Authorization: Bearer ok\nnot a header line secret-99\n');
    assert.throws(
      () => exporter(rx.url, { headers_file: file }),
      (err: Error) =>
        /headers_file: .*headers:2: not a `Name: value` header/.test(err.message) && !err.message.includes('secret-99'),
    );
  } finally {
    await e.x.stop();
    await rx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('otlp config: bad values are refused naming the key', () => {
  assert.throws(
    () => buildConfig({ otlp: { endpoint: 'collector:4318' } }, {}),
    /otlp\.endpoint: an http:\/\/ or https:\/\/ URL/,
  );
  assert.throws(() => buildConfig({ otlp: { timeout: '5m' } }, {}), /otlp\.timeout: between 1s and 2m/);
  assert.throws(
    () => buildConfig({ otlp: { max_queue: 10, max_batch: 20 } }, {}),
    /otlp\.max_batch: max_batch must not exceed max_queue/,
  );
  assert.throws(() => buildConfig({ otlp: { endpont: 'http://x' } }, {}), /otlp: .*endpont/);
  assert.equal(buildConfig({}, {}).otlp.endpoint, undefined, 'off by default');
});

test('headers (a credential) are never sent in clear text across a network: https, or http to loopback only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-otlp-headers-'));
  try {
    const file = join(dir, 'headers');
    writeFileSync(file, 'Authorization: Bearer x\n');
    assert.throws(
      () => exporter('http://collector.example:4318/v1/logs', { headers_file: file }),
      /otlp\.endpoint \(with headers_file\): refusing to send a credential to http:\/\/collector\.example:4318 in clear text/,
    );
    await exporter('http://127.0.0.1:4318/v1/logs', { headers_file: file }).x.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

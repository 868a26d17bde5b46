// The output to Alertmanager against two local v2 endpoints (an HA pair): every alert goes to both, a firing
// incident is re-posted each refresh, a resolve is posted with its end and not refreshed again, a failing endpoint
// is retried and counted and never holds the caller up; test and requested incidents are not posted; posts past
// those in flight wait in a queue instead of being dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { AlertmanagerOutput, MAX_ACTIVE, type PostableAlert } from '../../src/alertmanager/output.ts';
import { buildConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { INCIDENT_LOG_MAX, type IncidentRecord } from '../../src/incident-log.ts';
import type { Incident } from '../../src/incident.ts';

/** A stand-in for Alertmanager's POST /api/v2/alerts; answers 500 to the first `fail` posts. */
async function endpoint(fail = 0) {
  const posts: { at: number; alerts: PostableAlert[] }[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url !== '/api/v2/alerts' || req.method !== 'POST') return void res.writeHead(404).end();
      if (n++ < fail) return void res.writeHead(500).end('down');
      posts.push({ at: Date.now(), alerts: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { url, posts, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
}

const inc = (over: Partial<Incident> = {}): Incident => ({
  id: 'abc-1',
  key: 'cpu-throttling{cgroup="/kubepods/x"}',
  rule: 'cpu-throttling',
  status: 'firing',
  severity: 'warning',
  labels: { cgroup: '/kubepods/x', pod_uid: 'u1', empty: '' },
  annotations: { summary: 'web throttled', description: 'at its quota' },
  target: { cgroupId: '42', pod: { uid: 'u1', name: 'web-1', namespace: 'shop' }, container: 'app' },
  value: 0.9,
  threshold: 0.2,
  unit: 'ratio',
  stats: {},
  startsAt: '2026-12-03T06:00:00.000Z',
  firedAt: '2026-12-03T06:00:05.000Z',
  host: 'node-1',
  ...over,
});
const record = (i: Incident): IncidentRecord => ({
  id: i.id,
  key: i.key,
  rule: i.rule,
  status: i.status,
  incident: i,
  capture: 'done',
  bundle: { id: 'b-1', dir: '/x', tarball: '/x.tar.gz', partial: false },
  diagnosis: { cause: 'limit-bound', summary: 'the CPU limit is the bottleneck' } as IncidentRecord['diagnosis'],
  actions: {},
  updatedAt: '',
});

test('output: both Alertmanagers get each alert, refreshed while firing, ended on resolve; failures retried and counted', async () => {
  const a = await endpoint();
  const b = await endpoint(1); // its first post fails once: retried
  const down = 'http://127.0.0.1:9'; // nothing listens (discard port): every attempt fails
  const out = new AlertmanagerOutput({
    config: buildConfig({ host: 'node-1', alertmanager: { url: [a.url, `${b.url}/`, down], refresh: '300ms' } }, {}),
    log: createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })),
    baseUrl: () => 'http://node-1:9464',
  });
  out.start();
  try {
    const t0 = Date.now();
    out.observe(record(inc()));
    assert.ok(Date.now() - t0 < 50, 'observe returns at once');
    out.observe(record(inc({ id: 't-1', key: 'k2', test: true })));
    out.observe(record(inc({ id: 'r-1', key: 'k3', labels: { requested_by: 'slack' } })));
    for (let i = 0; i < 100 && (a.posts.length < 3 || b.posts.length < 2); i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.ok(a.posts.length >= 3, `refreshed: ${a.posts.length} posts`);
    assert.ok(b.posts.length >= 2, `the failing one retried: ${b.posts.length} posts`);
    const alert = a.posts[0].alerts[0];
    assert.equal(a.posts[0].alerts.length, 1, 'test and requested incidents are not posted');
    assert.deepEqual(alert.labels, {
      cgroup: '/kubepods/x',
      pod_uid: 'u1',
      namespace: 'shop',
      pod: 'web-1',
      container: 'app',
      alertname: 'cpu-throttling',
      rule: 'cpu-throttling',
      severity: 'warning',
      host: 'node-1',
    });
    assert.deepEqual(alert.annotations, {
      summary: 'web throttled',
      incident: 'abc-1',
      description: 'at its quota',
      diagnosis: 'limit-bound: the CPU limit is the bottleneck',
      bundle: 'b-1',
    });
    assert.equal(alert.startsAt, '2026-12-03T06:00:05.000Z');
    assert.ok(Date.parse(alert.endsAt) > Date.now(), 'a firing alert ends in the future');
    assert.equal(alert.generatorURL, 'http://node-1:9464/api/incidents/abc-1');

    out.observe(record(inc({ status: 'resolved', resolvedAt: '2026-12-03T06:09:00.000Z' })));
    for (let i = 0; i < 60 && !a.posts.some((p) => p.alerts[0].endsAt.startsWith('2026-12-03T06:09')); i++)
      await new Promise((r) => setTimeout(r, 50));
    const before = a.posts.length;
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(a.posts.length, before, 'a resolved incident is not refreshed');
    assert.equal(out.firing, 0);
    for (let i = 0; i < 100 && out.counts.failed < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(out.counts.failed >= 2, `the unreachable one counted as failed: ${JSON.stringify(out.counts)}`);
    assert.ok(out.counts.ok >= 5);
  } finally {
    await out.stop(100);
    await a.close();
    await b.close();
  }
});

test('output: posts past the 64 in flight wait their turn (none dropped); firing incidents kept like the incident log', async () => {
  // An Alertmanager that holds every post until released.
  const got: PostableAlert[] = [];
  let held: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push(...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as PostableAlert[]));
      held.push(() => res.writeHead(200).end());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const out = new AlertmanagerOutput({
    config: buildConfig({ host: 'node-1', alertmanager: { url, refresh: '1h', timeout: '30s' } }, {}),
    log: createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })),
    baseUrl: () => 'http://node-1:9464',
  });
  try {
    for (let i = 0; i < 200; i++) out.observe(record(inc({ id: `i-${i}`, key: `k${i}` })));
    for (let i = 0; i < 100 && held.length < 64; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(out.queued, 200 - 64, 'the posts past those in flight wait');
    for (let i = 0; i < 200 && got.length < 200; i++) {
      const now = held;
      held = [];
      for (const release of now) release();
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(new Set(got.map((a) => a.annotations.incident)).size, 200, 'every alert posted');
    assert.equal(out.counts.dropped, 0);
    // The firing incidents kept for the refresh: no more than the incident log holds.
    for (let i = 200; i < 1500; i++) out.observe(record(inc({ id: `i-${i}`, key: `k${i}` })));
    assert.equal(out.firing, MAX_ACTIVE);
    assert.equal(MAX_ACTIVE, INCIDENT_LOG_MAX);
  } finally {
    const releaser = setInterval(() => {
      for (const release of held.splice(0)) release();
    }, 10);
    await out.stop(10_000);
    clearInterval(releaser);
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('output: no credentials in the URL; a bearer token only over https or to loopback', () => {
  assert.throws(
    () => buildConfig({ alertmanager: { url: 'http://user:secret@alertmanager:9093' } }, {}),
    /without user:password@/,
  );
  const options = (url: string) => ({
    config: buildConfig({ alertmanager: { url, bearer_token_file: '/run/secrets/am-token' } }, {}),
    log: createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })),
    baseUrl: () => 'http://node-1:9464',
  });
  assert.throws(() => new AlertmanagerOutput(options('http://alertmanager:9093')), /refusing to send a credential/);
  new AlertmanagerOutput(options('https://alertmanager:9093'));
  new AlertmanagerOutput(options('http://127.0.0.1:9093'));
});

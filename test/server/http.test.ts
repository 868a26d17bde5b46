import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createServer, parseListen, type InjectRequest } from '../../src/server/http.ts';
import { TriplineError } from '../../src/errors.ts';

const errorOf = (body: string): { code: string; message: string; hint: string } => JSON.parse(body).error;
const API = { token: 'test-token-0123456789' };
const AUTH = { authorization: `Bearer ${API.token}`, host: 'localhost' };
/** An /api request with the token (and a JSON body type when it has a body). */
const authed = (r: InjectRequest): InjectRequest => ({
  ...r,
  headers: { ...AUTH, ...(r.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(r.headers ?? {}) },
});

test('healthz always; readyz follows the ready function with its reason', async () => {
  let ready: true | string = 'sampler has not ticked yet';
  const s = createServer({ ready: () => ready });
  assert.equal((await s.inject({ method: 'GET', url: '/healthz' })).status, 200);
  const r = await s.inject({ method: 'GET', url: '/readyz' });
  assert.equal(r.status, 503);
  assert.deepEqual(JSON.parse(r.body), { status: 'not ready', reason: 'sampler has not ticked yet' });
  ready = true;
  assert.equal((await s.inject({ method: 'GET', url: '/readyz' })).status, 200);
});

test('/metrics serves the scrape with its content type; absent without metrics', async () => {
  const s = createServer({
    metrics: { scrape: async () => '# TYPE x gauge\nx 1\n', contentType: 'text/plain; version=0.0.4; charset=utf-8' },
  });
  const r = await s.inject({ method: 'GET', url: '/metrics' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  assert.equal(r.body, '# TYPE x gauge\nx 1\n');
  assert.equal((await createServer().inject({ method: 'GET', url: '/metrics' })).status, 404);
});

test('mounted JSON routes get params, query and the parsed body', async () => {
  const s = createServer({ api: API });
  s.route('GET', '/api/incidents/:id', (req) => ({ json: { id: req.params.id, full: req.query.get('full') } }));
  s.route('POST', '/api/silences', (req) => ({ status: 201, json: { got: req.body } }));
  const g = await s.inject(authed({ method: 'GET', url: '/api/incidents/a%2Fb?full=1' }));
  assert.deepEqual(JSON.parse(g.body), { id: 'a/b', full: '1' });
  const p = await s.inject(authed({ method: 'POST', url: '/api/silences', body: '{"matchers":[]}' }));
  assert.equal(p.status, 201);
  assert.deepEqual(JSON.parse(p.body), { got: { matchers: [] } });
  assert.throws(() => s.route('GET', '/api/incidents/:other', () => ({})), { code: 'SERVER_ERR_REQUEST' });
  assert.throws(() => s.route('GET', 'no-slash', () => ({})), { code: 'SERVER_ERR_REQUEST' });
});

test('bad requests get JSON errors with a code and a hint', async () => {
  const s = createServer({ maxBodyBytes: 64, api: API });
  s.route('POST', '/api/x', () => ({ json: {} }));
  s.route('GET', '/api/boom', () => {
    throw new Error('secret token abc');
  });
  s.route('GET', '/api/bad', () => {
    throw new TriplineError('RULE_ERR_SCHEMA', 'rules.yaml:3:5: for: bad duration', { hint: 'write 30s' });
  });
  s.route('GET', '/api/missing', () => {
    throw new TriplineError('BUNDLE_ERR_NOT_FOUND', 'no bundle b1', { hint: 'list bundles' });
  });
  const cases: [Parameters<typeof s.inject>[0], number, string][] = [
    [{ method: 'GET', url: '/nope' }, 404, 'SERVER_ERR_REQUEST'],
    [{ method: 'GET', url: '/api/x' }, 405, 'SERVER_ERR_REQUEST'],
    [
      { method: 'POST', url: '/api/x', body: '{oops', headers: { 'content-type': 'application/json' } },
      400,
      'SERVER_ERR_REQUEST',
    ],
    [
      { method: 'POST', url: '/api/x', body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      415,
      'SERVER_ERR_REQUEST',
    ],
    [{ method: 'POST', url: '/api/x', body: 'x'.repeat(65) }, 413, 'SERVER_ERR_REQUEST'],
    [{ method: 'GET', url: '/api/bad' }, 400, 'RULE_ERR_SCHEMA'],
    [{ method: 'GET', url: '/api/missing' }, 404, 'BUNDLE_ERR_NOT_FOUND'],
    [{ method: 'GET', url: '/api/boom' }, 500, 'SERVER_ERR_REQUEST'],
    [{ method: 'GET', url: '/%E0%A4%A' }, 404, 'SERVER_ERR_REQUEST'],
  ];
  for (const [req, status, code] of cases) {
    const r = await s.inject(req.url.startsWith('/api') ? authed(req) : req);
    assert.equal(r.status, status, `${req.method} ${req.url}`);
    assert.equal(errorOf(r.body).code, code, `${req.method} ${req.url}`);
    assert.match(r.headers['content-type'], /application\/json/);
  }
  const boom = await s.inject(authed({ method: 'GET', url: '/api/boom' }));
  assert.doesNotMatch(boom.body, /secret/, 'internal errors do not leak their message');
  assert.equal((await s.inject(authed({ method: 'GET', url: '/api/x' }))).headers.allow, 'POST');
  assert.equal(errorOf((await s.inject(authed({ method: 'GET', url: '/api/bad' }))).body).hint, 'write 30s');
  assert.match(
    errorOf((await s.inject({ method: 'GET', url: '/nope' })).body).hint,
    /^routes: GET \/healthz, GET \/readyz, POST \/api\/x, /,
    'a 404 lists the mounted routes',
  );
});

test('parseListen', () => {
  assert.deepEqual(parseListen('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListen(':9464'), { host: '127.0.0.1', port: 9464 });
  assert.throws(() => parseListen('9464'), { code: 'CONFIG_ERR_INVALID' });
  assert.throws(() => parseListen('h:99999'), { code: 'CONFIG_ERR_INVALID' });
});

test('real socket: routes, a body over the limit, malformed HTTP; the server keeps serving', async () => {
  const errors: unknown[] = [];
  const s = createServer({
    maxBodyBytes: 1024,
    api: API,
    metrics: { scrape: async () => 'x 1\n', contentType: 'text/plain' },
    onError: (e) => errors.push(e),
  });
  s.route('POST', '/api/echo', (req) => ({ json: req.body }));
  after(() => s.close());
  const { port } = await s.listen('127.0.0.1:0');
  const base = `http://127.0.0.1:${port}`;
  assert.equal(await (await fetch(`${base}/metrics`)).text(), 'x 1\n');
  const echo = await fetch(`${base}/api/echo`, {
    method: 'POST',
    body: JSON.stringify({ a: 1 }),
    headers: { 'content-type': 'application/json', authorization: AUTH.authorization },
  });
  assert.deepEqual(await echo.json(), { a: 1 });
  const big = await fetch(`${base}/api/echo`, {
    method: 'POST',
    body: 'x'.repeat(5000),
    headers: { 'content-type': 'application/json', authorization: AUTH.authorization },
  });
  assert.equal(big.status, 413);
  const raw = await new Promise<string>((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.write('NOT HTTP AT ALL\r\n\r\n'));
    let data = '';
    sock
      .on('data', (d) => (data += d))
      .on('end', () => resolve(data))
      .on('error', reject);
  });
  assert.match(raw, /^HTTP\/1\.1 400/);
  assert.equal((await fetch(`${base}/healthz`)).status, 200, 'still serving');
  assert.deepEqual(errors, []);
});

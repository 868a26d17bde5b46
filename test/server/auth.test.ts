// The API as an attacker would try it: no token, a wrong token, a cross-site form post, a rebinding Host, an
// oversize body, a silence that would freeze the engine or never end; and the token file made safely.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from '../../src/server/http.ts';
import { mountApi } from '../../src/server/api.ts';
import { loadApiToken } from '../../src/server/auth.ts';
import { IncidentLog } from '../../src/incident-log.ts';
import { Suppressor } from '../../src/rules/evaluate/suppress.ts';
import { localSilences, SILENCE_LIMITS } from '../../src/rules/silence-service.ts';

const TOKEN = 'a-test-token-with-32-characters!';

function api() {
  const suppressor = new Suppressor();
  const changes: string[] = [];
  const s = createServer({ api: { token: TOKEN, allowedHosts: ['node-1.example'] } });
  mountApi(s, {
    incidents: new IncidentLog(),
    silences: localSilences(
      () => suppressor,
      (c) => changes.push(`${c.op} ${c.silence.author}`),
    ),
  });
  return { s, suppressor, changes };
}

const silence = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    matchers: { rule: 'cpu-throttling' },
    starts_at: new Date().toISOString(),
    ends_at: new Date(Date.now() + 3600_000).toISOString(),
    author: 'alice',
    comment: 'maintenance',
    ...over,
  });
const headers = (h: Record<string, string> = {}) => ({
  host: '127.0.0.1:9464',
  authorization: `Bearer ${TOKEN}`,
  'content-type': 'application/json',
  ...h,
});
const post = (body: string, h?: Record<string, string>) => ({
  method: 'POST',
  url: '/api/silences',
  body,
  headers: headers(h),
});

test('without the token, or with a wrong one, every /api route is refused; health and metrics stay open', async () => {
  const { s, suppressor } = api();
  for (const [method, url] of [
    ['GET', '/api/incidents'],
    ['GET', '/api/silences'],
    ['POST', '/api/silences'],
    ['DELETE', '/api/silences/x'],
    ['GET', '/api/suppressed'],
    ['GET', '/api/nonexistent'],
  ]) {
    const none = await s.inject({
      method,
      url,
      headers: { host: 'localhost' },
      body: method === 'POST' ? silence() : undefined,
    });
    assert.equal(none.status, 401, `${method} ${url}`);
    assert.match(none.headers['www-authenticate'], /^Bearer/);
    const wrong = await s.inject({ method, url, headers: headers({ authorization: 'Bearer not-the-token' }) });
    assert.equal(wrong.status, 401);
    assert.equal(JSON.parse(wrong.body).error.code, 'SERVER_ERR_UNAUTHORIZED');
  }
  assert.equal(suppressor.list().length, 0, 'nothing was created');
  assert.equal((await s.inject({ method: 'GET', url: '/healthz' })).status, 200);
});

test('a cross-site post (text/plain; x=json, a form) and a rebinding Host are refused even with the token', async () => {
  const { s, suppressor } = api();
  for (const type of [
    'text/plain; x=json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/json-seq',
    '',
  ]) {
    const r = await s.inject(post(silence(), { 'content-type': type }));
    assert.equal(r.status, 415, type);
  }
  for (const host of ['evil.example', 'evil.example:9464', '']) {
    const r = await s.inject(post(silence(), { host }));
    assert.equal(r.status, 421, host);
  }
  assert.equal((await s.inject(post(silence(), { host: 'NODE-1.example:9464' }))).status, 201, 'an allowed name');
  assert.equal((await s.inject(post(silence(), { host: '[::1]:9464' }))).status, 201, 'an IP literal');
  assert.equal(suppressor.list().length, 2);
});

test('bodies over 64 KiB are refused', async () => {
  const { s } = api();
  const r = await s.inject(post(silence({ comment: 'x'.repeat(70_000) })));
  assert.equal(r.status, 413);
});

test('silences: bounded text, at most 30 days, RE2 regexes, a cap on their number; each change reported with its author', async () => {
  const { s, changes } = api();
  const bad = async (body: string, re: RegExp) => {
    const r = await s.inject(post(body));
    assert.equal(r.status, 400, body.slice(0, 80));
    assert.match(JSON.parse(r.body).error.message, re);
  };
  await bad(
    silence({ ends_at: new Date(Date.now() + 31 * 86400_000).toISOString() }),
    /ends_at: more than 30 days ahead/,
  );
  await bad(silence({ comment: 'c'.repeat(2000) }), /comment: longer than 1024/);
  await bad(silence({ author: 'a'.repeat(300) }), /author: longer than 256/);
  await bad(silence({ matchers: { rule: { regex: '(a)\\1' } } }), /backreference/);
  await bad(silence({ extra: 1 }), /Unrecognized key/);
  const t = performance.now();
  const ok = await s.inject(post(silence({ matchers: { cgroup: { regex: '(.?){30}.{30}' } } })));
  assert.equal(ok.status, 201, 'a pattern that freezes backtracking engines is harmless in RE2');
  assert.ok(performance.now() - t < 5_000);
  const id = JSON.parse(ok.body).id as string;
  assert.equal((await s.inject({ method: 'DELETE', url: `/api/silences/${id}`, headers: headers() })).status, 204);
  assert.deepEqual(changes, ['add alice', 'remove alice']);
});

test('the number of run-time silences is capped', async () => {
  const { s, suppressor } = api();
  for (let i = 0; i < SILENCE_LIMITS.maxCount; i++)
    suppressor.add({
      id: `api-${i}`,
      matchers: { rule: { op: 'equals', value: 'x' } },
      startsAt: 0,
      endsAt: Date.now() + 60_000,
      author: 'a',
      comment: 'c',
    });
  const r = await s.inject(post(silence()));
  assert.equal(r.status, 400);
  assert.match(JSON.parse(r.body).error.message, /already 1000 run-time silences/);
});

test('the API is never mounted on a server without authentication', () => {
  assert.throws(
    () => mountApi(createServer(), { incidents: new IncidentLog(), silences: localSilences(() => new Suppressor()) }),
    /without authentication/,
  );
});

test('the token file is made 0600 with a random token, reused, and refused when others can read it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-token-'));
  try {
    const f = join(dir, 'api-token');
    const a = loadApiToken(f);
    assert.equal(a.created, true);
    assert.equal(statSync(f).mode & 0o777, 0o600);
    assert.ok(a.token.length >= 40);
    assert.equal(readFileSync(f, 'utf8').trim(), a.token);
    assert.deepEqual(loadApiToken(f), { token: a.token, created: false });
    chmodSync(f, 0o644);
    assert.throws(() => loadApiToken(f), /only its owner can read/);
    writeFileSync(join(dir, 'short'), 'abc', { mode: 0o600 });
    assert.throws(() => loadApiToken(join(dir, 'short')), /no usable token/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { kernelTest } from '../../support/kernel.ts';
import { decodeHttpRequest, http, HTTPD_EVENT_SIZE } from '../../../src/probes/deep/http.ts';
import { httpFindings, httpRoutes, maskPath, type HttpRequestView } from '../../../src/probes/deep/http-routes.ts';
import { budget, probeContext } from './support.ts';

test('http event decoder reads the C layout and masks the path', () => {
  const b = Buffer.alloc(HTTPD_EVENT_SIZE);
  b.writeBigUInt64LE(812_000_000n, 0);
  b.writeBigUInt64LE(100_000_000n, 8);
  b.writeBigUInt64LE(12_000_000n, 16);
  b.writeBigUInt64LE(700_000_000n, 24);
  b.writeUInt32LE(41, 32);
  b.writeUInt32LE(42, 36);
  b.writeUInt16LE(503, 40);
  b[42] = 1;
  const path = '/api/orders/12345';
  b[43] = path.length;
  b.write(path, 48);
  assert.deepEqual(decodeHttpRequest(b), {
    method: 'POST',
    path: '/api/orders/{id}',
    status: 503,
    seconds: 0.812,
    pid: 41,
    tid: 42,
    onCpuSeconds: 0.1,
    runqSeconds: 0.012,
    blockedSeconds: 0.7,
  });
  b[42] = 9;
  assert.equal(decodeHttpRequest(b).method, 'OTHER');
  assert.throws(() => decodeHttpRequest(Buffer.alloc(HTTPD_EVENT_SIZE - 1)), RangeError);
});

test('paths: numbers, UUIDs, long hex and tokens become {id}; a cut path says so', () => {
  assert.equal(maskPath('/api/orders/12345/items/7'), '/api/orders/{id}/items/{id}');
  assert.equal(maskPath('/u/3f2504e0-4f89-11d3-9a0c-0305e82c3301/x'), '/u/{id}/x');
  assert.equal(maskPath('/blob/deadbeefcafe0123'), '/blob/{id}');
  assert.equal(maskPath('/t/abcDEF123456ghijKL'), '/t/{id}');
  assert.equal(maskPath('/v1/users/me'), '/v1/users/me');
  assert.equal(maskPath('/caf\xe9\n'), '/caf??');
  assert.equal(maskPath(`/${'z'.repeat(63)}`), `/${'z'.repeat(63)}…`);
});

test('routes: p99, error count and where the time went; finding lines name the dominant part', () => {
  const req = (path: string, seconds: number, blocked: number, status = 200): HttpRequestView => ({
    method: 'POST',
    path,
    status,
    seconds,
    pid: 1,
    tid: 1,
    onCpuSeconds: seconds - blocked,
    runqSeconds: 0,
    blockedSeconds: blocked,
  });
  const routes = httpRoutes([
    ...Array.from({ length: 9 }, () => req('/api/orders/{id}', 0.1, 0.05)),
    req('/api/orders/{id}', 0.812, 0.7, 503),
    req('/health', 0.001, 0),
  ]);
  assert.equal(routes[0].path, '/api/orders/{id}');
  assert.equal(routes[0].count, 10);
  assert.equal(routes[0].errors, 1);
  assert.equal(routes[0].p99Seconds, 0.812);
  assert.ok(Math.abs(routes[0].blockedShare - 1.15 / 1.712) < 1e-9);
  assert.deepEqual(httpFindings(routes), [
    'p99 812 ms on POST /api/orders/{id} (10 requests, 1 answered 5xx): 67 % of their time blocked',
    'p99 1 ms on POST /health (1 request): 100 % of their time on CPU',
  ]);
});

let server: ChildProcess;
let port = 0;
before(async () => {
  server = spawn(process.execPath, [join(import.meta.dirname, '..', 'counters', 'fixtures', 'http-servers.ts')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: server.stdout! }), 'line')) as [string];
  port = JSON.parse(line).http1;
});
after(() => server.kill('SIGKILL'));

kernelTest("http records the target's requests with masked paths, status and where their time went", async () => {
  const running = http.prepare(probeContext()).start({ pids: [server.pid!] }, budget());
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string, method = 'GET') =>
    new Promise<number>((resolve, reject) => {
      const r = request({ host: '127.0.0.1', port, path, method, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      r.on('error', reject);
      r.end();
    });
  try {
    for (let i = 0; i < 2; i++) assert.equal(await get('/sleep/300'), 200);
    for (let i = 0; i < 3; i++) assert.equal(await get(`/orders/${1000 + i}?token=secret${i}`), 200);
    for (let i = 0; i < 5; i++) assert.equal(await get('/fast'), 200);
    assert.equal(await get('/fast', 'POST'), 200);
    assert.equal(await get('/unavailable'), 503);
  } finally {
    agent.destroy();
  }
  const r = await running.stop();
  const s = http.summary.parse(r.summary);
  assert.equal(s.requests, 12, JSON.stringify(s.routes));
  assert.ok(!JSON.stringify(r).includes('secret') && !JSON.stringify(r).includes('token'), 'no query values');
  const route = (method: string, path: string) => s.routes.find((x) => x.method === method && x.path === path);
  const sleep = route('GET', '/sleep/{id}')!;
  assert.equal(sleep.count, 2);
  assert.ok(sleep.p99Seconds >= 0.3 && sleep.p99Seconds < 5, `p99 ${sleep.p99Seconds}`);
  // The server thread waits on its event loop for the timer: most of those requests' time is blocked.
  assert.ok(sleep.blockedShare > 0.5, `blocked share ${sleep.blockedShare}`);
  assert.equal(route('GET', '/orders/{id}')?.count, 3);
  assert.equal(route('GET', '/fast')?.count, 5);
  assert.equal(route('POST', '/fast')?.count, 1);
  assert.equal(route('GET', '/unavailable')?.errors, 1);
  assert.equal(s.slowest[0].path, '/sleep/{id}');
  assert.equal(s.slowest[0].pid, server.pid);
  assert.match(s.findings[0], /^p99 3\d\d ms on GET \/sleep\/\{id\} \(2 requests\): \d+ % of their time blocked$/);
});

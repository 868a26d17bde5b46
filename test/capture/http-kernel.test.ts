// Kernel tier: a capture with the http deep probe on a real HTTP server: the bundle lists its requests (masked paths,
// no query values) and its findings name the slow route.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { kernelTest, objDir } from '../support/kernel.ts';
import { CaptureManager } from '../../src/capture/manager.ts';
import { deepProbes } from '../../src/probes/deep/index.ts';
import { enableStats } from '../../src/probes/libbpf.ts';
import { validateBundle } from '../../src/bundle/validate.ts';

const root = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-capture-http-`));
const server = spawn(
  process.execPath,
  [join(import.meta.dirname, '..', 'probes', 'counters', 'fixtures', 'http-servers.ts')],
  {
    stdio: ['pipe', 'pipe', 'inherit'],
  },
);
after(() => {
  server.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

kernelTest(
  'a capture with the http probe: the bundle lists the requests and its findings name the slow route',
  async () => {
    const [line] = (await once(createInterface({ input: server.stdout! }), 'line')) as [string];
    const port = JSON.parse(line).http1 as number;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const r = request({ host: '127.0.0.1', port, path, agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        r.on('error', reject);
        r.end();
      });
    const m = new CaptureManager({
      registry: deepProbes,
      objDir,
      redact: true,
      bundlesDir: root,
      maxConcurrent: 1,
      maxCpuPercent: 400,
      defaultDurationMs: 3000,
      enableStats,
      warm: ['http'],
    });
    m.start();
    try {
      const capture = m.capture({ target: { pids: [server.pid!] }, probes: ['http'], durationMs: 3000 });
      await sleep(500); // attached from the warm pool within milliseconds
      for (let i = 0; i < 3; i++) assert.equal(await get('/sleep/300'), 200);
      for (let i = 0; i < 3; i++) assert.equal(await get(`/orders/${7000 + i}?card=4111111111111111`), 200);
      const ref = await capture;
      const check = await validateBundle(ref.dir);
      assert.deepEqual(check.problems, []);
      assert.equal(check.manifest!.probes[0].status, 'ok');
      const findings = JSON.parse(readFileSync(join(ref.dir, 'findings.json'), 'utf8'));
      assert.ok(
        findings.headlines.some((h: string) => /^p99 3\d\d ms on GET \/sleep\/\{id\} \(3 requests\)/.test(h)),
        findings.headlines.join('\n'),
      );
      const events = readFileSync(join(ref.dir, 'events.ndjson'), 'utf8');
      const reqs = events
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((e) => e.probe === 'http');
      assert.deepEqual(
        reqs.map((e) => `${e.method} ${e.path} ${e.status}`),
        [...Array(3).fill('GET /sleep/{id} 200'), ...Array(3).fill('GET /orders/{id} 200')],
      );
      assert.ok(!events.includes('4111') && !events.includes('card'), 'no query values in the bundle');
    } finally {
      agent.destroy();
      await m.stop();
    }
  },
);

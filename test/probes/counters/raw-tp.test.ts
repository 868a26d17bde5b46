/**
 * Kernel test of the raw_tp twins: on this kernel feature detection picks tp_btf, so the twins (what runs on kernels
 * without tp_btf) would otherwise never load or run in the tests. Each family is started with `hooks: 'raw_tp'` and
 * must produce the same kind of readings from a real workload.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { kernelTest, objDir } from '../../support/kernel.ts';
import { startRunq } from '../../../src/probes/counters/runq.ts';
import { startSyscalls } from '../../../src/probes/counters/syscalls.ts';
import { startTcp } from '../../../src/probes/counters/tcp.ts';
import { startBlockio } from '../../../src/probes/counters/blockio.ts';
import { startHttp } from '../../../src/probes/counters/http.ts';
import { createServer as createHttpServer, get as httpGet } from 'node:http';
import type { CounterFamily } from '../../../src/probes/counters/types.ts';
import { find, histCount } from './fixtures/workload.ts';
import { cleanupsAfterAll } from '../../support/cleanups.ts';

const cleanups = cleanupsAfterAll();
const total = (fam: CounterFamily, signal: string): number =>
  fam
    .read()
    .filter((r) => r.signal === signal)
    .reduce((a, r) => a + histCount(r), 0);

kernelTest('raw_tp twins: runq, syscalls, tcp, blockio and http record from real workloads', async () => {
  const runq = startRunq(objDir, { thresholdNs: 5e6, maxCgroups: 10240, hooks: 'raw_tp' });
  const sys = startSyscalls(objDir, undefined, 'raw_tp');
  const tcp = startTcp(objDir, { maxCgroups: 10240, hooks: 'raw_tp' });
  const bio = startBlockio(objDir, 'raw_tp');
  const http = startHttp(objDir, { maxCgroups: 10240, maxConnections: 1024, hooks: 'raw_tp' });
  for (const f of [runq, sys, tcp, bio, http]) cleanups.push(() => f.close());
  assert.deepEqual(
    [runq, sys, tcp, bio, http].map((f) => f.stats().programs),
    [3, 2, 2, 2, 1],
  );

  // Processes that start, sleep and wake: wakeups, new tasks and switches.
  execFileSync('sh', [
    '-c',
    'for i in 1 2 3 4 5; do sleep 0.01; done; dd if=/dev/zero of=/dev/null bs=1 count=20000 2>/dev/null',
  ]);
  const server = createServer((s) => s.end());
  cleanups.push(() => server.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  for (let i = 0; i < 5; i++) {
    const c = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(c, 'connect');
    c.destroy();
  }
  const web = createHttpServer((_, res) => res.end('ok'));
  cleanups.push(() => web.close());
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  for (let i = 0; i < 5; i++) {
    const res = await new Promise<import('node:http').IncomingMessage>((resolve) =>
      httpGet({ host: '127.0.0.1', port: (web.address() as AddressInfo).port, agent: false }, resolve),
    );
    res.resume();
    await once(res, 'end');
  }
  const dir = mkdtempSync(join('/var/tmp', 'tripline-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const fd = openSync(join(dir, 'f'), 'w');
  writeSync(fd, Buffer.alloc(64 * 1024, 1));
  fsyncSync(fd);
  closeSync(fd);

  assert.ok(total(runq, 'runq_delay_seconds') >= 5, 'run-queue delays recorded');
  assert.ok(
    histCount(find(sys.read(), 'syscall_latency_seconds', { syscall: 'read' })) >= 20_000,
    'read() latencies recorded',
  );
  assert.ok(total(tcp, 'tcp_connect_latency_seconds') >= 5, 'connect latencies recorded');
  // Block I/O only when /var/tmp sits on a block device; the sysfs check lives in blockio.test.ts.
  if (total(bio, 'blockio_latency_seconds') === 0) {
    const fs = execFileSync('stat', ['-f', '-c', '%T', '/var/tmp'], { encoding: 'utf8' }).trim();
    assert.ok(['tmpfs', 'overlayfs', 'nfs'].includes(fs), `no block I/O recorded though /var/tmp is on ${fs}`);
  }
  assert.ok(total(http, 'http_request_duration_seconds') >= 5, 'HTTP requests recorded');
  for (const f of [runq, sys, tcp, bio, http]) assert.equal(f.stats().dropped, 0, `${f.name} dropped nothing`);
});

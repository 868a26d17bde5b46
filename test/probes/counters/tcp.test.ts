/**
 * Kernel test of the tcp family: loopback connects to a node:net server show in the connect latency histogram of the
 * connecting process's cpu cgroup.
 */
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { kernelTest, objDir } from '../../support/kernel.ts';
import { startTcp } from '../../../src/probes/counters/tcp.ts';
import { findCpuMount } from '../../../src/probes/cgroup-mount.ts';
import { find, histCount } from './fixtures/workload.ts';

const cleanups: (() => void)[] = [];
after(() => { for (const c of cleanups.reverse()) { try { c(); } catch { /* best effort */ } } });

/** Cgroup id of this process in the cpu hierarchy (inode of its directory). */
function ownCpuCgroupId(): string {
  const mount = findCpuMount();
  const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const line = mount.version === 1 ? lines.find((l) => l.split(':')[1]?.split(',').includes('cpu')) : lines.find((l) => l.startsWith('0::'));
  assert.ok(line, 'cpu cgroup of this process');
  const rel = line.split(':').slice(2).join(':');
  const sub = mount.root === '/' ? rel : rel.slice(mount.root.length) || '/';
  return statSync(join(mount.dir, sub), { bigint: true }).ino.toString();
}

kernelTest('tcp: loopback connects show in the connect latency histogram of the connecting cgroup', async () => {
  const fam = startTcp(objDir, { maxCgroups: 10240 });
  cleanups.push(() => fam.close());
  const server = createServer((s) => s.end());
  cleanups.push(() => server.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  const N = 20;
  for (let i = 0; i < N; i++) {
    const c = connect(port, '127.0.0.1');
    await once(c, 'connect');
    c.destroy();
  }
  const readings = fam.read();
  const mine = find(readings, 'tcp_connect_latency_seconds', { cgroup_id: ownCpuCgroupId() });
  assert.ok(histCount(mine) >= N, `connects recorded for this cgroup: ${histCount(mine)}`);
  // Loopback handshakes take microseconds to a few ms on a busy host, never seconds.
  assert.ok(mine?.kind === 'histogram' && mine.sum! > 0 && mine.sum! / histCount(mine) < 1, 'mean latency below 1 s');
  assert.equal(fam.stats().dropped, 0);
});

kernelTest('tcp: a refused connect is not counted as a connect latency', async () => {
  const fam = startTcp(objDir, { maxCgroups: 10240 });
  cleanups.push(() => fam.close());
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close(); // nothing listens on the port any more
  await once(server, 'close');
  const c = connect(port, '127.0.0.1');
  const [err] = await once(c, 'error').catch((e) => [e]);
  assert.equal((err as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  assert.equal(histCount(find(fam.read(), 'tcp_connect_latency_seconds', { cgroup_id: ownCpuCgroupId() })), 0);
});

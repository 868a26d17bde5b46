/**
 * Kernel test of the tcp family: loopback connects to a node:net server show in the connect latency histogram of the
 * connecting process's cpu cgroup; a SYN dropped once (tc filter in a private network namespace) shows as a
 * retransmit of the connecting cgroup and as a connect latency of about a second.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelTest, objDir } from '../../support/kernel.ts';
import { startTcp } from '../../../src/probes/counters/tcp.ts';
import { findCpuMount } from '../../../src/probes/cgroup-mount.ts';
import { createCgroup } from '../../../src/demo/cgroup-admin.ts';
import { counterValue, find, gated, histCount, sleep, uniqueName } from './fixtures/workload.ts';
import { cleanupsAfterAll } from '../../support/cleanups.ts';

const cleanups = cleanupsAfterAll();

/** Cgroup id of this process in the cpu hierarchy (inode of its directory). */
function ownCpuCgroupId(): string {
  const mount = findCpuMount();
  const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const line =
    mount.version === 1
      ? lines.find((l) => l.split(':')[1]?.split(',').includes('cpu'))
      : lines.find((l) => l.startsWith('0::'));
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

kernelTest('tcp: sockets that share a slot are all counted (the cookie hash beside the slots)', async () => {
  // One slot: the first live socket holds it, the others go to tcp_socks. The connects come from a process in a
  // cgroup of its own, N held open at a time, twice (the second round finds the slot and the hash freed).
  const fam = startTcp(objDir, { maxCgroups: 10240, slots: 1 });
  cleanups.push(() => fam.close());
  const server = createServer();
  cleanups.push(() => server.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const cg = createCgroup({ name: uniqueName('slots') });
  cleanups.push(() => cg.destroy());
  const N = 10;
  const node = join(import.meta.dirname, '..', '..', '..', 'scripts', 'node');
  const p = gated([node, join(import.meta.dirname, 'fixtures', 'tcp-hold.ts'), String(port), String(N), '2']);
  cleanups.push(() => p.kill());
  cg.addPid(p.child.pid!);
  p.go();
  const [code] = (await p.exited) as [number];
  assert.equal(code, 0, 'the connecting process ran');
  const lat = find(fam.read(), 'tcp_connect_latency_seconds', { cgroup_id: cg.id });
  assert.equal(histCount(lat), 2 * N, 'every connect counted');
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

kernelTest(
  'tcp: a retransmitted SYN counts for the connecting cgroup, and its connect takes about a second',
  async () => {
    const ns = uniqueName('ns').slice(0, 40);
    const port = 20000 + Math.floor(Math.random() * 20000);
    const dir = mkdtempSync(join(tmpdir(), 'tripline-test-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const sh = (cmd: string, ...a: string[]): string =>
      execFileSync(cmd, a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    sh(
      'clang',
      '-O2',
      '-g',
      '-target',
      'bpf',
      `-DPORT=${port}`,
      `-I${objDir}`,
      '-c',
      join(import.meta.dirname, 'fixtures', 'drop-syn.bpf.c'),
      '-o',
      join(dir, 'drop.o'),
    );
    sh('ip', 'netns', 'add', ns);
    cleanups.push(() => sh('ip', 'netns', 'del', ns));
    sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    sh('tc', '-n', ns, 'qdisc', 'add', 'dev', 'lo', 'clsact');
    sh('tc', '-n', ns, 'filter', 'add', 'dev', 'lo', 'egress', 'bpf', 'da', 'obj', join(dir, 'drop.o'), 'sec', 'tc');

    const fam = startTcp(objDir, { maxCgroups: 10240 });
    cleanups.push(() => fam.close());
    const cg = createCgroup({ name: uniqueName('tcp') });
    cleanups.push(() => cg.destroy());
    const node = join(import.meta.dirname, '..', '..', '..', 'scripts', 'node');
    const p = gated([
      'ip',
      'netns',
      'exec',
      ns,
      node,
      join(import.meta.dirname, 'fixtures', 'tcp-pair.ts'),
      String(port),
    ]);
    cleanups.push(() => p.kill());
    cg.addPid(p.child.pid!);
    p.go();
    await sleep(600); // the first SYN is dropped; the kernel retries after 1 s
    sh('tc', '-n', ns, 'filter', 'del', 'dev', 'lo', 'egress');
    const [code] = (await p.exited) as [number];
    assert.equal(code, 0, 'the connect completed once the filter was gone');

    const readings = fam.read();
    assert.ok(
      counterValue(find(readings, 'tcp_retransmits', { cgroup_id: cg.id })) >= 1,
      'SYN retransmit counted for the connecting cgroup',
    );
    const lat = find(readings, 'tcp_connect_latency_seconds', { cgroup_id: cg.id });
    assert.equal(histCount(lat), 1);
    assert.ok(
      lat?.kind === 'histogram' && lat.sum! > 0.9 && lat.sum! < 10,
      `connect latency ${lat?.kind === 'histogram' ? lat.sum : '?'} s`,
    );
  },
);

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { kernelTest } from '../../support/kernel.ts';
import { decodeTcpEvent, tcp, TCPD_EVENT_SIZE } from '../../../src/probes/deep/tcp.ts';
import { budget, probeContext } from './support.ts';

test('tcp event decoder reads the C layout (IPv4 and IPv6)', () => {
  const b = Buffer.alloc(TCPD_EVENT_SIZE);
  b.writeBigUInt64LE(150_000n, 0);
  b.writeUInt32LE(1, 8);
  b.writeUInt32LE(5, 12);
  b.writeUInt16LE(2, 16);
  b.writeUInt16LE(40000, 18);
  b.writeUInt16LE(5432, 20);
  b.set([127, 0, 0, 1], 24);
  b.set([10, 1, 2, 3], 40);
  b.write('client', 56);
  assert.deepEqual(decodeTcpEvent(b), {
    type: 'connect',
    latencyNs: 150_000n,
    tgid: 5,
    local: '127.0.0.1:40000',
    remote: '10.1.2.3:5432',
    comm: 'client',
  });
  b.writeUInt16LE(10, 16);
  b.writeUInt32LE(5, 8);
  b.fill(0, 24, 56);
  b[39] = 1;
  b[55] = 1;
  const e = decodeTcpEvent(b);
  assert.equal(e.type, 'receive-reset');
  assert.equal(e.remote, '[::1]:5432');
  assert.throws(() => decodeTcpEvent(Buffer.alloc(80)), RangeError);
});

let server: Server;
let open = 0;
let closed = 0;
before(async () => {
  server = createServer((s) => s.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  open = (server.address() as { port: number }).port;
  // A port nobody listens on: connects there are refused with a reset.
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  closed = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
});
after(() => server.close());

kernelTest("tcp records the target's connects with latency and its refused connects as resets", async () => {
  const script = `
    const net = require('node:net');
    const go = (port) => new Promise((r) => { const s = net.connect(port, '127.0.0.1'); s.on('error', r); s.on('close', r); s.resume(); });
    setTimeout(async () => { for (let i = 0; i < 5; i++) await go(${open}); for (let i = 0; i < 3; i++) await go(${closed}); }, 300);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  const running = tcp.prepare(probeContext()).start({ pids: [child.pid!] }, budget());
  await once(child, 'exit');
  const r = await running.stop();
  const s = tcp.summary.parse(r.summary);
  assert.equal(s.connects, 5, JSON.stringify(s));
  assert.equal(s.connectFailures, 3);
  assert.equal(s.receiveResets, 3);
  assert.ok(s.connectSeconds.p50 > 0 && s.connectSeconds.p50 < 1);
  assert.equal(s.byRemote[0].remote, `127.0.0.1:${closed}`, 'the refused port is the most trouble');
  assert.ok(r.records!.every((x) => x.pid === child.pid));
  const c = r.records!.find((x) => x.type === 'connect')!;
  assert.equal(c.remote, `127.0.0.1:${open}`);
  assert.match(String(c.local), /^127\.0\.0\.1:\d+$/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileHasSymbol, staticTlsServers } from '../../../src/probes/counters/http-tls.ts';

test('a Node binary carries OpenSSL itself; sh does not', () => {
  assert.equal(fileHasSymbol(process.execPath), true);
  assert.equal(fileHasSymbol('/bin/sh'), false);
  assert.equal(fileHasSymbol('/nonexistent'), false);
});

test('a listening Node process is named as a server whose HTTPS the uprobes cannot see; without a listener it is not', async () => {
  assert.ok(!staticTlsServers().some((s) => s.pid === process.pid), 'not listening yet');
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  try {
    const me = staticTlsServers().find((s) => s.pid === process.pid);
    assert.ok(me, 'this process is listed');
    assert.equal(me.exe, process.execPath);
  } finally {
    srv.close();
  }
});

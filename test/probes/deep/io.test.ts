import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { kernelTest } from '../../support/kernel.ts';
import { decodeBlockRequest, io, IOD_EVENT_SIZE } from '../../../src/probes/deep/io.ts';
import { budget, probeContext } from './support.ts';

test('io event decoder reads the C layout', () => {
  const b = Buffer.alloc(IOD_EVENT_SIZE);
  b.writeBigUInt64LE(3_000_000n, 0);
  b.writeBigUInt64LE(2048n, 8);
  b.writeUInt32LE((254 << 20) | 1, 16);
  b.writeUInt32LE(65536, 20);
  b.writeUInt32LE(1, 24);
  b.writeUInt32LE(99, 28);
  b.writeInt32LE(0, 32);
  b.write('dd', 40);
  assert.deepEqual(decodeBlockRequest(b), {
    latencyNs: 3_000_000n,
    sector: 2048n,
    major: 254,
    minor: 1,
    bytes: 65536,
    op: 'write',
    tgid: 99,
    error: 0,
    comm: 'dd',
  });
  assert.throws(() => decodeBlockRequest(Buffer.alloc(IOD_EVENT_SIZE + 1)), RangeError);
});

// /var/tmp sits on the host's disk (a tmpfs /tmp would issue no block I/O).
const dir = mkdtempSync('/var/tmp/tripline-io-');
after(() => rmSync(dir, { recursive: true, force: true }));

kernelTest('io sees the direct writes the target issues, with latency and size', async () => {
  // The shell waits so the probe is attached before dd (same pid after exec) starts writing.
  const child = spawn(
    'sh',
    ['-c', `sleep 0.3; exec dd if=/dev/zero of=${join(dir, 'f')} bs=64k count=64 oflag=direct,sync status=none`],
    { stdio: 'ignore' },
  );
  const running = io.prepare(probeContext({ threshold_ms: 0 })).start({ pids: [child.pid!] }, budget());
  await once(child, 'exit');
  const r = await running.stop();
  const s = io.summary.parse(r.summary);
  assert.ok(s.requests >= 64, `requests ${s.requests}`);
  assert.ok(s.p50Seconds > 0);
  const writes = r.records!.filter((x) => x.op === 'write');
  assert.ok(writes.length >= 64, `writes ${writes.length}`);
  assert.ok(writes.every((x) => x.comm === 'dd' && x.pid === child.pid));
  assert.ok(
    writes.some((x) => x.bytes === 65536),
    'the 64 KiB writes',
  );
  assert.ok(s.slowest[0].seconds >= s.slowest[s.slowest.length - 1].seconds);
  assert.ok(s.slowest[0].disk.length > 0, 'disk name resolved');
});

/**
 * Kernel test of the blockio family: a file written with fsync on a filesystem backed by a real block device shows
 * write requests in that disk's histogram; O_DIRECT writes from a cgroup count in the bytes it issued (the
 * per-cgroup twin), not in an idle one's. Skips (with the reason) on overlay, tmpfs or other device-less filesystems.
 */
import assert from 'node:assert/strict';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { kernelTest, objDir } from '../../support/kernel.ts';
import { startBlockio } from '../../../src/probes/counters/blockio.ts';
import { parseUeventDevname } from '../../../src/probes/decode/blockio.ts';
import { counterValue, find, gated, histCount, uniqueName } from './fixtures/workload.ts';
import { createCgroup } from '../../../src/demo/cgroup-admin.ts';
import { cleanupsAfterAll } from '../../support/cleanups.ts';

const cleanups = cleanupsAfterAll();

/** Name of the whole disk holding `dir`, or why there is none. */
function diskOf(dir: string): { disk?: string; why?: string } {
  const dev = statSync(dir).dev;
  // st_dev in the kernel's new_encode_dev() form: minor low byte, major 12 bits, minor high bits.
  const mm = `${(dev >>> 8) & 0xfff}:${(dev & 0xff) | ((dev >>> 12) & 0xfff00)}`;
  const sys = `/sys/dev/block/${mm}`;
  if (!existsSync(sys)) return { why: `${dir} is on device ${mm}, not a block device (overlay, tmpfs, network fs)` };
  // A partition's disk is the parent directory in sysfs.
  const uevent = existsSync(`${sys}/partition`) ? `${sys}/../uevent` : `${sys}/uevent`;
  const disk = parseUeventDevname(readFileSync(uevent, 'utf8'));
  return disk ? { disk } : { why: `no DEVNAME in ${uevent}` };
}

kernelTest("blockio: fsync-ed writes show in the disk's write histogram", async (t) => {
  const dir = mkdtempSync(join(process.env.TMPDIR ?? '/var/tmp', 'tripline-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const { disk, why } = diskOf(dir);
  if (!disk) {
    t.skip(why);
    return;
  }
  const fam = startBlockio(objDir);
  cleanups.push(() => fam.close());

  const fd = openSync(join(dir, 'data'), 'w');
  const chunk = Buffer.alloc(64 * 1024, 7);
  for (let i = 0; i < 8; i++) {
    writeSync(fd, chunk);
    fsyncSync(fd);
  }
  closeSync(fd);

  const readings = fam.read();
  const writes = find(readings, 'blockio_latency_seconds', { device: disk, op: 'write' });
  assert.ok(
    histCount(writes) >= 8,
    `write requests on ${disk}: ${histCount(writes)} (series: ${readings.map((r) => JSON.stringify(r.labels)).join(' ')})`,
  );
  assert.ok(
    writes?.kind === 'histogram' && writes.sum! > 0 && writes.sum! / histCount(writes) < 10,
    'mean latency in seconds, plausible',
  );
});

kernelTest(
  'blockio twin: O_DIRECT writes issued from a cgroup count in its bytes, an idle cgroup has none',
  async (t) => {
    const dir = mkdtempSync(join(process.env.TMPDIR ?? '/var/tmp', 'tripline-test-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const { disk, why } = diskOf(dir);
    if (!disk) {
      t.skip(why);
      return;
    }
    const fam = startBlockio(objDir);
    cleanups.push(() => fam.close());
    const writer = createCgroup({ name: uniqueName('writer') });
    cleanups.push(() => writer.destroy());
    const idle = createCgroup({ name: uniqueName('idle') });
    cleanups.push(() => idle.destroy());
    // O_DIRECT: no page cache, so the writer's own task issues each request (no flusher in between).
    const p = gated(['dd', 'if=/dev/zero', `of=${join(dir, 'direct')}`, 'bs=4k', 'count=500', 'oflag=direct']);
    const q = gated(['sleep', '0.2']);
    for (const x of [p, q]) cleanups.push(() => x.kill());
    writer.addPid(p.child.pid!);
    idle.addPid(q.child.pid!);
    p.go();
    q.go();
    await Promise.all([p.exited, q.exited]);
    const readings = fam.read();
    const writes = histCount(find(readings, 'blockio_latency_seconds', { device: disk, op: 'write' }));
    const mine = counterValue(find(readings, 'blockio_issued_bytes', { cgroup_id: writer.id }));
    assert.ok(writes >= 500, `write requests on ${disk}: ${writes}`);
    // 500 x 4 KiB written by dd itself (no page cache), plus the file system's metadata it issues.
    assert.ok(mine >= 500 * 4096 && mine < 4 * 500 * 4096, `the writer cgroup issued ${mine} bytes`);
    assert.equal(find(readings, 'blockio_issued_bytes', { cgroup_id: idle.id }), undefined, 'the idle cgroup has none');
  },
);

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileReader } from '../../../src/probes/counters/file-reader.ts';
import { parseFlatKeyed } from '../../../src/probes/counters/cpustat.ts';
import { cgroupTest } from '../../support/cgroups.ts';

cgroupTest(
  'a kept-open cgroup file re-read at offset 0 shows fresh values; a removed cgroup fails and is forgotten',
  async (fx) => {
    const cg = fx.cgroup('fr', { quotaCores: 0.2 });
    const files = new FileReader();
    const path = join(cg.dirs[0], 'cpu.stat');
    const before = parseFlatKeyed(files.read(path)).get('nr_periods')!;
    assert.equal(files.open, 1);
    const loop = fx.busyLoop(cg);
    await sleep(500);
    loop.kill('SIGKILL');
    const after = parseFlatKeyed(files.read(path)).get('nr_periods')!;
    assert.ok(after > before, `nr_periods ${before} → ${after} through the same descriptor`);
    assert.equal(files.open, 1);
    cg.destroy();
    assert.throws(() => files.read(path));
    assert.equal(files.open, 0, 'the dead descriptor was closed');
  },
);

test('cap on open files, retain and close', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-test-fr-'));
  try {
    for (const n of ['a', 'b', 'c']) writeFileSync(join(dir, n), `value ${n}\n`);
    const files = new FileReader(2);
    assert.equal(files.read(join(dir, 'a')), 'value a\n');
    files.read(join(dir, 'b'));
    assert.equal(files.read(join(dir, 'c')), 'value c\n', 'past the cap the file is opened and closed');
    assert.equal(files.open, 2);
    files.retain((p) => p.endsWith('/a'));
    assert.equal(files.open, 1);
    files.close();
    assert.equal(files.open, 0);
    assert.throws(() => files.read(join(dir, 'missing')), { code: 'ENOENT' });
  } finally {
    rmSync(dir, { recursive: true });
  }
});

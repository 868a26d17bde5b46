import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { parsePressure, createPsiFamily } from '../../../src/probes/counters/psi.ts';
import { parseCgroupMounts } from '../../../src/probes/cgroup-mount.ts';
import type { CgroupMount } from '../../../src/probes/cgroup-mount.ts';
import { cgroupTest } from '../../support/cgroups.ts';
import { readFileSync } from 'node:fs';

test('parsePressure: totals in seconds', () => {
  assert.deepEqual(
    parsePressure(
      'some avg10=0.13 avg60=0.11 avg300=0.66 total=6941884\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
    ),
    { some: 6.941884, full: 0 },
  );
  assert.deepEqual(parsePressure('some avg10=1.00 avg60=0.50 avg300=0.10 total=42\n'), { some: 0.000042 });
  assert.deepEqual(parsePressure(''), {});
});

test('PSI off: the family is unavailable with the reason and the fix', () => {
  assert.throws(
    () => createPsiFamily({ nodeFile: '/proc/pressure/does-not-exist', mount: null }),
    (err: any) => {
      assert.equal(err.code, 'PROBE_ERR_UNSUPPORTED');
      assert.match(err.message, /^unavailable: PSI disabled \(boot with psi=1\)/);
      assert.match(err.hint, /psi=1/);
      return true;
    },
  );
});

test(
  'node-level CPU pressure from /proc/pressure/cpu, growing, with no cgroup id',
  { skip: !existsSync('/proc/pressure/cpu') && 'kernel without PSI' },
  () => {
    const fam = createPsiFamily({ mount: null });
    const a = fam.read();
    const some = a.find((r) => r.signal === 'cpu_pressure_some_seconds');
    assert.ok(some && some.kind === 'counter' && some.value >= 0);
    assert.deepEqual(some.labels, {});
    const b = fam.read().find((r) => r.signal === 'cpu_pressure_some_seconds');
    assert.ok(b && b.kind === 'counter' && b.value >= some.value);
  },
);

/** A cgroup v2 hierarchy of this host (on hybrid hosts, the unified one without controllers still has cpu.pressure). */
function v2Mount(): CgroupMount | undefined {
  const m = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8')).find((x) => x.fstype === 'cgroup2');
  return m && existsSync(`${m.dir}/cpu.pressure`) ? { version: 2, dir: m.dir, root: m.root } : undefined;
}

cgroupTest('per-cgroup cpu.pressure on v2: two loops sharing one CPU stall each other', async (fx, t) => {
  const mount = v2Mount();
  if (!mount) {
    t.skip('no cgroup v2 hierarchy with PSI files');
    return;
  }
  const cg = fx.cgroup('psi', { mount });
  const calm = fx.cgroup('calm', { mount });
  const fam = createPsiFamily({ mount, parents: [cg.rel, calm.rel], rescanEvery: 1000 });
  const val = (id: string): number => {
    const r = fam.read().find((x) => x.signal === 'cpu_pressure_some_seconds' && x.labels.cgroup_id === id);
    assert.ok(r && r.kind === 'counter', `pressure read for ${id}`);
    return r.value;
  };
  const before = val(cg.id);
  const calmBefore = val(calm.id);
  // Both loops on CPU 0: each waits while the other runs, so "some" grows about as fast as wall time.
  const loops = [0, 1].map(() => spawn('taskset', ['-c', '0', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }));
  try {
    for (const l of loops) cg.addPid(l.pid!);
    await sleep(700);
  } finally {
    for (const l of loops) l.kill('SIGKILL');
  }
  const grew = val(cg.id) - before;
  assert.ok(grew > 0.1, `pressure grew by ${grew} s in 0.7 s`);
  assert.ok(val(calm.id) - calmBefore < 0.01, 'an empty cgroup has no pressure');
});

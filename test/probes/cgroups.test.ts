import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { CgroupResolver, walkCgroups, cgroupPath } from '../../src/probes/cgroups.ts';
import { createCgroup, type ManagedCgroup } from '../../src/demo/cgroup-admin.ts';
import { findCpuMount } from '../../src/probes/cgroup-mount.ts';

const made: ManagedCgroup[] = [];
after(() => {
  for (const c of made.reverse()) c.destroy();
});
const uniq = `tripline-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

test('cgroupPath joins the mount root', () => {
  assert.equal(cgroupPath('/', '/a/b'), '/a/b');
  assert.equal(cgroupPath('/kubepods', '/a'), '/kubepods/a');
  assert.equal(cgroupPath('/kubepods', '/'), '/kubepods');
});

test('resolver: id of a real cgroup → its path; misses re-walk at most once per minRefreshMs', () => {
  const mount = findCpuMount();
  let now = 1_000_000;
  const r = new CgroupResolver({ mount, minRefreshMs: 5000, now: () => now });
  const parent = createCgroup({ name: uniq, mount });
  made.push(parent);
  const first = r.resolve(parent.id);
  assert.equal(first?.rel, `/${uniq}`);
  assert.equal(first?.dir, parent.dirs[0]);
  assert.equal(r.walks, 1);

  const child = createCgroup({ name: `${uniq}/child`, mount });
  made.push(child);
  // Within the rate limit a miss does not walk again.
  now += 1000;
  assert.equal(r.resolve(child.id), undefined);
  assert.equal(r.walks, 1);
  // After it, the miss walks and finds the new cgroup.
  now += 5000;
  assert.equal(r.resolve(child.id)?.rel, `/${uniq}/child`);
  assert.equal(r.walks, 2);
  // A hit never walks.
  now += 60_000;
  assert.equal(r.resolve(parent.id)?.rel, `/${uniq}`);
  assert.equal(r.walks, 2);
});

test('walkCgroups lists the root and can skip subtrees', () => {
  const mount = findCpuMount();
  const all = walkCgroups(mount);
  assert.equal(all[0].rel, '/');
  const top = walkCgroups(mount, (c) => c.rel === '/');
  assert.ok(top.every((c) => c.rel === '/' || c.rel.lastIndexOf('/') === 0));
  assert.ok(top.length <= all.length);
});

test('createCgroup sets the quota, moves a process, destroy evacuates and removes', async () => {
  const mount = findCpuMount();
  const cg = createCgroup({ name: `${uniq}-q`, quotaCores: 0.1, mount });
  made.push(cg);
  const { readFileSync } = await import('node:fs');
  if (mount.version === 1) {
    assert.equal(readFileSync(`${cg.dirs[0]}/cpu.cfs_quota_us`, 'utf8').trim(), '10000');
    assert.equal(readFileSync(`${cg.dirs[0]}/cpu.cfs_period_us`, 'utf8').trim(), '100000');
  } else {
    assert.equal(readFileSync(`${cg.dirs[0]}/cpu.max`, 'utf8').trim(), '10000 100000');
  }
  const { spawn } = await import('node:child_process');
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    cg.addPid(child.pid!);
    assert.deepEqual(cg.pids(), [child.pid]);
    cg.destroy();
    for (const d of cg.dirs) assert.equal(existsSync(d), false, d);
    assert.equal(child.exitCode, null, 'destroy moves processes out, it does not kill them');
    cg.destroy(); // idempotent
  } finally {
    child.kill('SIGKILL');
  }
});

test('createCgroup rejects bad names and quotas with a coded error', () => {
  assert.throws(() => createCgroup({ name: '../etc' }), { code: 'PROBE_ERR_CONFIG' });
  assert.throws(() => createCgroup({ name: `${uniq}-bad`, quotaCores: -1 }), { code: 'PROBE_ERR_CONFIG' });
  assert.equal(existsSync(`${findCpuMount().dir}/${uniq}-bad`), false, 'a failed create leaves nothing behind');
});

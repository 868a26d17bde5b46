import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCgroupMounts, pickCpuMount, findCpuMount } from '../../src/probes/cgroup-mount.ts';

const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const COMOUNTED = `25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
`;
const UNIFIED_IN_CONTAINER = `29 22 0:26 /kubepods.slice/kubepods-pod1.slice /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw,nsdelegate
30 22 0:27 / /mnt/with\\040space rw - ext4 /dev/sda1 rw
`;

test('v1 hybrid: cpu and cpuacct mounted apart', () => {
  const m = pickCpuMount(parseCgroupMounts(HYBRID), () => false);
  assert.deepEqual(m, { version: 1, dir: '/sys/fs/cgroup/cpu', root: '/', cpuacctDir: '/sys/fs/cgroup/cpuacct' });
});

test('v1 co-mounted cpu,cpuacct', () => {
  const m = pickCpuMount(parseCgroupMounts(COMOUNTED), () => false);
  assert.deepEqual(m, {
    version: 1,
    dir: '/sys/fs/cgroup/cpu,cpuacct',
    root: '/',
    cpuacctDir: '/sys/fs/cgroup/cpu,cpuacct',
  });
});

test('v2 only when its controllers include cpu; the mount root is kept', () => {
  const mounts = parseCgroupMounts(UNIFIED_IN_CONTAINER);
  assert.equal(mounts.length, 1);
  assert.equal(
    pickCpuMount(mounts, () => false),
    undefined,
  );
  assert.deepEqual(
    pickCpuMount(mounts, (d) => d === '/sys/fs/cgroup'),
    { version: 2, dir: '/sys/fs/cgroup', root: '/kubepods.slice/kubepods-pod1.slice' },
  );
});

test('octal escapes in mount points are decoded', () => {
  const m = parseCgroupMounts('1 2 0:1 / /a\\040b rw - cgroup2 cgroup2 rw\n');
  assert.equal(m[0].dir, '/a b');
});

test('this host: a cpu hierarchy whose directory exists', () => {
  const m = findCpuMount();
  assert.ok(m.version === 1 || m.version === 2);
  assert.ok(m.dir.startsWith('/'));
});

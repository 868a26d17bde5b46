// Names on real series: a cgroup laid out as a kubelet pod (`kubepods/burstable/pod<uid>/<container id>`, cgroupfs
// driver) runs a throttled busy loop; the real runq (BPF) and cpustat families are sampled; the pod directory gets a
// snapshot of that pod (as the network side's cache sends it) after the first ticks. The cgroup's run-queue and CPU
// series then carry namespace, pod, container and workload, and each stays one series.
import assert from 'node:assert/strict';
import { kernelTest, objDir } from '../support/kernel.ts';
import { startRunq } from '../../src/probes/counters/runq.ts';
import { createCpuStatFamily } from '../../src/probes/counters/cpustat.ts';
import { CgroupResolver } from '../../src/probes/cgroups.ts';
import { findCpuMount } from '../../src/probes/cgroup-mount.ts';
import { PodDirectory } from '../../src/probes/pod-directory.ts';
import { PodSnapshotSchema } from '../../src/pod-meta.ts';
import { createSampler } from '../../src/sampler/sampler.ts';
import { buildConfig } from '../../src/config.ts';
import { createCgroup, type ManagedCgroup } from '../../src/demo/cgroup-admin.ts';
import type { Tick } from '../../src/samples.ts';
import { gated, sleep, uniqueName } from '../probes/counters/fixtures/workload.ts';
import { cleanupsAfterAll } from '../support/cleanups.ts';

const cleanups = cleanupsAfterAll();

kernelTest('runq and cpu series of a kubelet-style pod cgroup carry namespace, pod, container, workload', async () => {
  const mount = findCpuMount();
  const uid = '7c1e5f0a-3b2d-4c6e-9a8b-1d2e3f4a5b6c';
  const cid = '5e'.repeat(32);
  const root = uniqueName('pod');
  const parts = ['kubepods', 'burstable', `pod${uid}`, cid];
  const chain: ManagedCgroup[] = [];
  cleanups.push(() => {
    for (const c of [...chain].reverse()) c.destroy();
  });
  for (let i = 0; i <= parts.length; i++) {
    const name = [root, ...parts.slice(0, i)].join('/');
    // The container gets a small quota: its busy loop waits on the run queue, so runq reports it for sure. The pod's
    // cgroup has a quota too (the kubelet sets one for pods with limits), so cpustat reports it.
    const quotaCores = i === parts.length ? 0.05 : i === parts.length - 1 ? 0.5 : undefined;
    chain.push(createCgroup({ name, mount, quotaCores }));
  }
  const container = chain.at(-1)!;
  const runq = startRunq(objDir, { thresholdNs: 5e6, maxCgroups: 10240 });
  cleanups.push(() => runq.close());
  const loop = gated(['taskset', '-c', '0', 'sh', '-c', 'while :; do :; done']);
  cleanups.push(() => loop.kill());
  container.addPid(loop.child.pid!);
  loop.go();

  const pods = new PodDirectory();
  const sampler = createSampler({
    families: [runq, createCpuStatFamily({ mount, rescanEvery: 1000 })],
    resolver: new CgroupResolver({ mount, minRefreshMs: 0 }),
    pods,
    config: buildConfig({}, {}),
  });
  const mine = (t: Tick, signal: string) =>
    t.samples.filter((s) => s.signal === signal && s.labels.cgroup_id === container.id);

  sampler.tick();
  await sleep(1500);
  const before = sampler.tick();
  const runqBefore = mine(before, 'runq_delay_seconds');
  assert.equal(runqBefore.length, 1, 'the busy container has a run-queue series');
  assert.equal(runqBefore[0].labels.pod_uid, uid);
  assert.equal(runqBefore[0].labels.container_id, cid);
  assert.equal(runqBefore[0].labels.qos, 'burstable');
  assert.equal(runqBefore[0].labels.pod, '', 'no names before the pod cache has told');

  // The network side's cache syncs: the snapshot crosses the channel's schema, then reaches the directory.
  pods.replace(
    PodSnapshotSchema.parse({
      pods: [
        {
          uid,
          namespace: 'shop',
          name: 'web-7d9f-abcde',
          qos: 'Burstable',
          workload: { kind: 'Deployment', name: 'web' },
          containers: [{ id: cid, name: 'app' }],
        },
      ],
    }),
  );
  await sleep(1500);
  const t = sampler.tick();
  loop.kill();
  const names = { namespace: 'shop', pod: 'web-7d9f-abcde', container: 'app', workload: 'Deployment/web' };
  for (const signal of ['runq_delay_seconds', 'runq_delay_over_threshold', 'cpu_periods', 'cpu_throttled_periods']) {
    const got = mine(t, signal);
    assert.equal(got.length, 1, `${signal}: one series for the container cgroup`);
    const l = got[0].labels;
    assert.deepEqual(
      { namespace: l.namespace, pod: l.pod, container: l.container, workload: l.workload },
      names,
      `${signal} labels`,
    );
    assert.equal(l.cgroup, container.path);
    assert.equal(l.container_id, cid);
    assert.equal(
      [...sampler.series(signal)].filter((s) => s.cgroupId === container.id).length,
      1,
      `${signal}: the names did not start a second series`,
    );
  }
  const hist = mine(t, 'runq_delay_seconds')[0];
  assert.ok(hist.kind === 'histogram' && hist.countDelta > 0, 'a delta, not a new baseline: the series went on');
  // The pod's own cgroup (no container id) is named by the pod, without a container.
  const podCg = chain.at(-2)!;
  const podSeries = t.samples.find((s) => s.labels.cgroup_id === podCg.id && s.signal === 'cpu_periods');
  assert.ok(podSeries, 'the pod cgroup has cpu.stat series too');
  assert.deepEqual([podSeries.labels.pod, podSeries.labels.container], ['web-7d9f-abcde', '']);
});

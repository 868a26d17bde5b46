/**
 * The engine's wiring of host-wide captures, without a kernel: a scripted family publishes block I/O latency per disk
 * (no cgroup) and the per-cgroup twin `blockio_issued_bytes`; a trip of a rule on the disk's p99 is captured on the
 * cgroup that issued most bytes in the window (from the sampler's history), and the bundle says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateBundle } from '../../src/bundle/validate.ts';
import type { Reading } from '../../src/probes/counters/types.ts';
import { counterReading } from '../support/scripted-counters.ts';
import { ScriptedEngine, waitFor } from '../support/scripted-engine.ts';

const RULE = `apiVersion: tripline.dev/v1
kind: Rule
metadata:
  name: disk-slow
spec:
  group_by: [device, op]
  when:
    signal: blockio_latency_seconds
    stat: p99
    window: 1s
    above: 10ms
  for: 0s
  cooldown: 0s
  capture:
    probes: [offcpu]
    duration: 200ms
    top: 2
  actions:
    - type: log
`;

test('engine: a trip of a series without a cgroup captures the top contributors of its twin, named in the bundle', async () => {
  const w = new ScriptedEngine();
  let n = 0;
  // Per tick: 10 writes on vda, all in the 16–32 ms bucket once hot; /4301 issues 8 MB, /4302 1 MB, /4303 10 kB.
  w.family.then((): Reading[] => {
    n++;
    const slow = w.hot ? n * 10 : 0;
    return [
      {
        kind: 'histogram',
        signal: 'blockio_latency_seconds',
        labels: { device: 'vda', op: 'write' },
        bounds: [0.001, 0.032, Infinity],
        counts: [n * 10, slow, 0],
        sum: slow * 0.02,
      },
      counterReading('blockio_issued_bytes', { cgroup_id: '4301' }, n * 8e6),
      counterReading('blockio_issued_bytes', { cgroup_id: '4302' }, n * 1e6),
      counterReading('blockio_issued_bytes', { cgroup_id: '4303' }, n * 1e4),
    ];
  });
  try {
    w.writeRule('disk.yaml', RULE);
    await w.start();
    w.hot = true;
    await waitFor('the capture', 10_000, () => w.captures.some((c) => c.phase === 'finished'));
    const firing = w.incidents.find((i) => i.status === 'firing')!;
    assert.deepEqual(firing.target, {}, 'the series has no cgroup');
    assert.deepEqual(w.probe.targets[0], { cgroupIds: [4301n, 4302n] }, 'the two largest, /4303 under 5%');
    const finished = w.captures.find((c) => c.phase === 'finished')!;
    assert.ok(finished.phase === 'finished');
    const mf = (await validateBundle(finished.dir)).manifest!;
    assert.equal(mf.scope?.kind, 'contributors');
    assert.deepEqual(
      mf.scope?.contributors.map((c) => c.cgroup_id),
      ['4301', '4302'],
    );
    assert.match(
      mf.scope!.summary,
      /^captured the top 2 contributors of blockio_latency_seconds \(by blockio_issued_bytes\)/,
    );
  } finally {
    await w.stop();
  }
});

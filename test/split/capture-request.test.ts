// capture.request / capture.extend through the real channel to the probe side: a pod of this node (laid out as the
// kubelet lays out cgroups) is resolved to its container's cgroup and captured with the real deep probes, extended,
// bundled and reported with the request; a pod of another node, a bpftrace probe, a join of a non-firing incident,
// a hostile path and a flood of requests are refused.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelTest, objDir } from '../support/kernel.ts';
import { cleanupsAfterAll } from '../support/cleanups.ts';
import { CgroupFixture, testCgroupName } from '../support/cgroups.ts';
import { createCgroup } from '../../src/demo/cgroup-admin.ts';
import { lookupUser } from '../../src/split/spawn.ts';
import { ProbeLink } from '../../src/split/probe-link.ts';
import { Channel } from '../../src/split/channel.ts';
import { NET_REPLIES, NET_TO_PROBE, PROBE_TO_NET, type NetToProbe, type ProbeToNet } from '../../src/split/messages.ts';
import { buildConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { PodDirectory } from '../../src/probes/pod-directory.ts';
import { findCpuMount } from '../../src/probes/cgroup-mount.ts';
import { CaptureManager } from '../../src/capture/manager.ts';
import { deepProbes } from '../../src/probes/deep/index.ts';
import { CaptureRequests, REQUESTS_PER_MINUTE } from '../../src/pipeline/capture-requests.ts';
import type { CaptureReply } from '../../src/capture/request-schema.ts';
import { CaptureRequestsPolicySchema } from '../../src/capture/schema/requests.ts';
import type { IncidentReport } from '../../src/pipeline/events.ts';
import { connectWhenUp } from '../support/daemon.ts';

const cleanups = cleanupsAfterAll();
const UID = '4f1c2b3a-5d6e-4f70-8a9b-0c1d2e3f4a5b';
const CID = 'c'.repeat(64);
const POD = {
  uid: UID,
  namespace: 'shop',
  name: 'web-7d9f-abcde',
  qos: 'Burstable' as const,
  workload: { kind: 'Deployment', name: 'web' },
  containers: [{ id: CID, name: 'app' }],
};

kernelTest(
  'capture.request: a pod of this node is captured, extended, bundled and reported; the rest is refused',
  async (t) => {
    if (!lookupUser('tripline')) throw new Error('the user tripline does not exist (scripts/setup.sh creates it)');
    const dir = mkdtempSync(join(tmpdir(), 'tripline-capreq-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // The kubelet's cgroupfs layout under a test root: <root>/kubepods/burstable/pod<uid>/<container id>.
    const fx = new CgroupFixture();
    cleanups.push(() => fx.cleanup());
    const top = testCgroupName('req');
    const made = [top, `${top}/kubepods`, `${top}/kubepods/burstable`, `${top}/kubepods/burstable/pod${UID}`];
    const levels = made.map((name) => createCgroup({ name }));
    const container = createCgroup({ name: `${made[3]}/${CID}` });
    cleanups.push(() => {
      container.destroy();
      for (const l of levels.reverse()) l.destroy();
    });
    fx.busyLoop(container);

    const sock = join(dir, 'channel.sock');
    const config = buildConfig({ data_dir: join(dir, 'data'), network: { channel: sock } }, {});
    const logged: string[] = [];
    const log = createLogger('info', new Writable({ write: (c, _e, cb) => void (logged.push(String(c)), cb()) }));
    const pods = new PodDirectory();
    const manager = new CaptureManager({
      registry: deepProbes,
      objDir,
      redact: true,
      bundlesDir: join(dir, 'data', 'bundles'),
      maxConcurrent: 2,
      maxCpuPercent: 400,
      defaultDurationMs: 1000,
      warm: ['profile', 'offcpu'],
    });
    manager.start();
    cleanups.push(() => void manager.stop());
    const reports: IncidentReport[] = [];
    let link: ProbeLink | undefined;
    const requests = new CaptureRequests({
      capture: manager,
      probes: Object.keys(deepProbes),
      lookup: { mount: findCpuMount(), pod: (ns, name) => pods.byName(ns, name) },
      host: config.host,
      defaultDurationMs: 1000,
      outlet: (r) => link?.report(r),
      firing: () => undefined,
      // Node-level captures are off by default (capture.requests.targets): this engine allows them.
      policy: CaptureRequestsPolicySchema.parse({ targets: ['pod', 'container', 'cgroup', 'pid', 'node'] }),
      log,
    });
    const opening = ProbeLink.open(
      {
        config,
        log,
        apiToken: 'x'.repeat(32),
        bundlesDir: join(dir, 'data', 'bundles'),
        metrics: async () => ({ text: '', contentType: 'text/plain' }),
        silences: {} as never,
        onPods: (s) => pods.replace(s),
        captures: requests,
        onGone: () => undefined,
      },
      10_000,
    );
    const s = await connectWhenUp(sock);
    const peer: Channel<ProbeToNet, NetToProbe> = new Channel(s, {
      inbound: PROBE_TO_NET,
      outbound: NET_TO_PROBE,
      replies: NET_REPLIES,
    });
    peer.on('incident', (r) => void reports.push(r as IncidentReport));
    link = await opening;
    cleanups.push(() => peer.close());
    t.after(async () => {
      await manager.stop();
      await link?.close(500);
    });
    peer.notify('pods', { pods: [POD] });
    for (let i = 0; i < 100 && pods.size === 0; i++) await new Promise((r) => setTimeout(r, 20));
    const ask = async (p: unknown): Promise<CaptureReply> =>
      (await peer.request('capture.request', p as never)) as CaptureReply;
    const source = { kind: 'alertmanager' as const, id: 'fp-1', who: 'team-shop' };

    // The pod's container, by namespace, pod and container name: its cgroup found on this host.
    const a = await ask({
      target: { kind: 'pod', namespace: 'shop', pod: 'web-7d9f-abcde', container: 'app' },
      probes: ['profile', 'offcpu'],
      durationMs: 1000,
      source,
      name: 'cputhrottlinghigh',
      labels: { alertname: 'cputhrottlinghigh', severity: 'warning' },
    });
    assert.equal(a.accepted, true, JSON.stringify(a));
    assert.ok(a.accepted);
    assert.equal(a.target.cgroupId, container.id);
    assert.equal(a.target.cgroupPath, container.path);
    const ext = await peer.request('capture.extend', { captureId: a.captureId, seconds: 1 });
    assert.equal((ext as { extended: boolean }).extended, true, JSON.stringify(ext));

    // Refusals: another node's pod, bpftrace, a join of an incident not firing, an unknown capture to extend.
    const other = await ask({ target: { kind: 'pod', namespace: 'shop', pod: 'web-elsewhere' }, source });
    assert.deepEqual([other.accepted, !other.accepted && other.code], [false, 'not_here']);
    const bt = await ask({ target: { kind: 'node' }, probes: ['bpftrace'], source });
    assert.deepEqual([bt.accepted, !bt.accepted && bt.code], [false, 'bad_probes']);
    const j = await ask({ target: { kind: 'node' }, source, join: { key: 'unknown{}' } });
    assert.deepEqual([j.accepted, !j.accepted && j.code], [false, 'join']);
    const unknown = await peer.request('capture.extend', { captureId: 'nope', seconds: 5 });
    assert.equal((unknown as { code: string }).code, 'unknown');
    // A hostile path never reaches the probe side's handler: the channel refuses it.
    s.write(JSON.stringify({ t: 'capture.request', p: { target: { kind: 'cgroup', path: '/../../etc' }, source } }));
    s.write('\n');

    // A node-level capture, extended up to the limit (the engine's stop cuts it: bundled as partial).
    const b = await ask({
      target: { kind: 'node' },
      probes: ['profile'],
      durationMs: 1000,
      source: { ...source, id: 'b' },
    });
    assert.equal(b.accepted, true, JSON.stringify(b));
    assert.ok(b.accepted && b.target.hostWide);
    const extends_ = [];
    for (let i = 0; i < 3; i++)
      extends_.push(await peer.request('capture.extend', { captureId: b.accepted ? b.captureId : '', seconds: 120 }));
    assert.deepEqual(
      extends_.map((e) => (e as { extended: boolean }).extended),
      [true, true, false],
      JSON.stringify(extends_),
    );

    // The first capture's reports: running, then done with a bundle of the container's cgroup, naming the request.
    for (let i = 0; i < 300 && !reports.some((r) => r.capture === 'done'); i++)
      await new Promise((r) => setTimeout(r, 50));
    const mine = reports.filter((r) => r.request?.captureId === (a.accepted ? a.captureId : ''));
    assert.deepEqual(
      mine.map((r) => r.capture),
      ['running', 'done'],
      JSON.stringify(reports.map((r) => [r.capture, r.captureError])),
    );
    const done = mine[1];
    assert.equal(done.incident.rule, 'cputhrottlinghigh');
    assert.equal(done.incident.labels.pod, 'web-7d9f-abcde');
    assert.equal(done.incident.labels.container, 'app');
    assert.equal(done.incident.target.cgroupId, container.id);
    assert.deepEqual(done.request?.source, source);
    assert.equal(done.dispatch, undefined, 'the requester runs the actions');
    const manifest = JSON.parse(readFileSync(join(done.bundle!.dir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.target.cgroup_id, container.id, JSON.stringify(manifest.target));
    const profile = manifest.probes.find((p: { name: string }) => p.name === 'profile');
    assert.equal(profile?.status, 'ok', JSON.stringify(manifest.probes));
    assert.ok(existsSync(done.bundle!.tarball));
    assert.ok(
      manifest.timings.capture_ms >= 1900,
      `the extension held the capture ~2 s: ${manifest.timings.capture_ms}`,
    );

    // A flood: past REQUESTS_PER_MINUTE in a minute, refused as `rate` before any lookup.
    const flood = await Promise.all(
      Array.from({ length: REQUESTS_PER_MINUTE }, (_, i) =>
        ask({ target: { kind: 'pod', namespace: 'shop', pod: `x${i}` }, source }),
      ),
    );
    assert.ok(flood.some((f) => !f.accepted && f.code === 'rate'));
    assert.match(logged.join(''), /capture\.request: target/);
  },
  { timeout: 60_000 },
);

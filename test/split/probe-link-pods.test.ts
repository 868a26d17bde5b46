// The probe side's end of the channel takes the network side's `pods` snapshots (validated: a snapshot the schema
// refuses never reaches the directory) into the pod directory the sampler names cgroups from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lookupUser } from '../../src/split/spawn.ts';
import { ProbeLink } from '../../src/split/probe-link.ts';
import { Channel } from '../../src/split/channel.ts';
import { NET_TO_PROBE, PROBE_TO_NET, type NetToProbe, type ProbeToNet } from '../../src/split/messages.ts';
import { buildConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { PodDirectory } from '../../src/probes/pod-directory.ts';
import { parseCgroupPath } from '../../src/probes/cgroup-path.ts';
import { skipOrFail } from '../support/kernel.ts';
import { connectWhenUp } from '../support/daemon.ts';

const UID = '9d2b6a4e-1c3f-4e5a-8b7c-0d1e2f3a4b5c';
const CID = 'e'.repeat(64);
const POD = {
  uid: UID,
  namespace: 'shop',
  name: 'web-7d9f-abcde',
  qos: 'Burstable' as const,
  workload: { kind: 'Deployment', name: 'web' },
  containers: [{ id: CID, name: 'app' }],
};

test('pods snapshots from the network side fill the pod directory; invalid ones are dropped', async (t) => {
  if (!lookupUser('tripline')) return skipOrFail(t, 'the user tripline does not exist (scripts/setup.sh creates it)');
  const dir = mkdtempSync(join(tmpdir(), 'tripline-link-pods-'));
  const sock = join(dir, 'channel.sock');
  const config = buildConfig({ data_dir: join(dir, 'data'), network: { channel: sock } }, {});
  const pods = new PodDirectory();
  const logged: string[] = [];
  const log = createLogger('warn', new Writable({ write: (c, _e, cb) => void (logged.push(String(c)), cb()) }));
  let linked: ProbeLink | undefined;
  let peer: Channel<ProbeToNet, NetToProbe> | undefined;
  try {
    const opening = ProbeLink.open(
      {
        config,
        log,
        apiToken: 'x'.repeat(32),
        bundlesDir: join(dir, 'data', 'bundles'),
        metrics: async () => ({ text: '', contentType: 'text/plain' }),
        silences: {} as never,
        onPods: (s) => pods.replace(s),
        onGone: () => undefined,
      },
      10_000,
    );
    // The network side's end, as `tripline network --channel` would connect it.
    const s = await connectWhenUp(sock);
    peer = new Channel(s, { inbound: PROBE_TO_NET, outbound: NET_TO_PROBE, replies: {} });
    linked = await opening;
    const hello = new Promise((resolve) => peer!.on('hello', resolve));
    await hello;

    peer.notify('pods', { pods: [POD] });
    const names = parseCgroupPath(`/kubepods/burstable/pod${UID}/${CID}`);
    for (let i = 0; i < 100 && pods.size === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(pods.names(names), {
      namespace: 'shop',
      pod: 'web-7d9f-abcde',
      container: 'app',
      workload: 'Deployment/web',
      qos: 'burstable',
    });
    // A frame the schema refuses (an unknown key, a name no API server allows) never reaches the directory.
    const g = pods.generation;
    s.write(JSON.stringify({ t: 'pods', p: { pods: [{ ...POD, name: 'Web<script>' }] } }) + '\n');
    peer.notify('pods', { pods: [] });
    for (let i = 0; i < 100 && pods.size !== 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(pods.size, 0, 'the empty snapshot replaced the set');
    assert.equal(pods.generation, g + 1, 'only the valid snapshot was taken');
    assert.match(logged.join(''), /message from the network side dropped/);

    // A flood: 200 snapshots at once are applied a few times, the last one last; 100 re-reads at once: past the
    // rate, refused as busy.
    const g2 = pods.generation;
    for (let i = 0; i < 200; i++) peer.notify('pods', { pods: i === 199 ? [POD] : [] });
    for (let i = 0; i < 100 && pods.size === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(pods.size, 1, 'the last snapshot won');
    assert.ok(pods.generation - g2 <= 3, `applied ${pods.generation - g2} times, not 200`);
    const q = { rule: 'r', match: [{ cgroup_id: ['1'] }] };
    const answers = await Promise.allSettled(Array.from({ length: 100 }, () => peer!.request('signal.read', q)));
    const busy = answers.filter((a) => a.status === 'rejected' && /over 20 per second/.test(String(a.reason)));
    assert.ok(busy.length >= 70, `${busy.length} of 100 refused`);
    assert.ok(
      answers.some((a) => a.status === 'fulfilled'),
      'the first ones are answered',
    );
  } finally {
    peer?.close();
    await linked?.close(500);
    rmSync(dir, { recursive: true, force: true });
  }
});

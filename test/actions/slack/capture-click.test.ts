/**
 * Capture again and Extend +30 s through the real kernel: the incident message (Web API stand-in) offers Capture
 * again; the click over Socket Mode becomes a capture.request handled by the probe side's request handler and the
 * capture manager with the real deep probes on a busy test cgroup; Extend +30 s moves its deadline; the bundle
 * (with the longer window) is uploaded into the incident's thread and the Extend button goes away.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { kernelTest, objDir } from '../../support/kernel.ts';
import { cleanupsAfterAll } from '../../support/cleanups.ts';
import { CgroupFixture } from '../../support/cgroups.ts';
import { FakeSlack, type FakeMessage } from '../../support/fake-slack.ts';
import { FakeSocketMode } from '../../support/fake-socket-mode.ts';
import { buildConfig } from '../../../src/config.ts';
import { createLogger } from '../../../src/log.ts';
import { findCpuMount } from '../../../src/probes/cgroup-mount.ts';
import { CaptureManager } from '../../../src/capture/manager.ts';
import { deepProbes } from '../../../src/probes/deep/index.ts';
import { CaptureRequests } from '../../../src/pipeline/capture-requests.ts';
import { createSlackAction } from '../../../src/actions/slack/index.ts';
import { startInteractivity } from '../../../src/actions/slack/interactive/service.ts';
import type { ClickResult } from '../../../src/actions/slack/interactive/clicks.ts';
import { MemoryStore } from '../../../src/actions/store-memory.ts';
import { localSilences } from '../../../src/rules/silence-service.ts';
import { Suppressor } from '../../../src/rules/evaluate/suppress.ts';
import { Clock, context, incident, job } from './helpers.ts';

const cleanups = cleanupsAfterAll();
const slack = new FakeSlack();
const sm = new FakeSocketMode();
before(async () => {
  await slack.start();
  await sm.start(slack);
});
after(async () => {
  await sm.stop();
  await slack.stop();
});

const actionIds = (m: FakeMessage): string[] =>
  (m.blocks as { type: string; elements?: { action_id?: string }[] }[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => (b.elements ?? []).map((e) => e.action_id ?? ''));

function click(m: FakeMessage, actionId: string): unknown {
  return {
    type: 'block_actions',
    user: { id: 'UALICE', username: 'alice' },
    container: { type: 'message', message_ts: m.ts, channel_id: m.channel },
    actions: [{ type: 'button', action_id: actionId, value: actionId, action_ts: `${Date.now() / 1000}` }],
  };
}

kernelTest(
  'Capture again captures the incident target; Extend +30 s lengthens it; the bundle lands in the thread',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tripline-capclick-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const fx = new CgroupFixture();
    cleanups.push(() => fx.cleanup());
    const cg = fx.cgroup('capclick');
    fx.busyLoop(cg);
    const bundlesDir = join(dir, 'bundles');
    const cfg = buildConfig(
      {
        host: 'node-a',
        data_dir: join(dir, 'data'),
        bundles: { dir: bundlesDir },
        capture: { duration: '1s' },
        slack: {
          api_url: slack.url,
          channel: 'CCAPTURE',
          group_wait: '0s',
          interactivity: { allowed_users: ['UALICE'] },
        },
      },
      {},
    );
    const env = { SLACK_BOT_TOKEN: slack.token, SLACK_APP_TOKEN: slack.appToken };
    const log = createLogger('error', new Writable({ write: (_c, _e, cb) => cb() }));
    const manager = new CaptureManager({
      registry: deepProbes,
      objDir,
      redact: true,
      bundlesDir,
      maxConcurrent: 2,
      maxCpuPercent: 400,
      defaultDurationMs: 1000,
      warm: ['profile', 'offcpu'],
    });
    manager.start();
    const i = incident('web-1', Date.now(), { target: { cgroupPath: cg.path } });
    const results: ClickResult[] = [];
    const store = new MemoryStore();
    // The probe side's handler of capture requests; its reports go to the network side's listener (here: the link).
    let report: ((r: never) => Promise<void>) | undefined;
    const bundles: string[] = [];
    const requests = new CaptureRequests({
      capture: manager,
      probes: Object.keys(deepProbes),
      lookup: { mount: findCpuMount(), pod: () => undefined },
      host: cfg.host,
      defaultDurationMs: 1000,
      outlet: (r) => {
        if (r.bundle) bundles.push(r.bundle.dir);
        return report?.(r as never);
      },
      firing: (key) => (key === i.key ? i : undefined),
      log,
    });
    const link = await startInteractivity({
      config: cfg,
      env,
      log: { debug() {}, info() {}, warn() {}, error() {} },
      store,
      silences: localSilences(() => new Suppressor()),
      enqueue: async () => undefined,
      captures: { request: async (r) => requests.request(r), extend: async (r) => requests.extend(r) },
      onClick: (r) => results.push(r),
      pingTimeoutMs: 500,
    });
    assert.ok(link);
    report = (r) => link.report(r);
    t.after(async () => {
      await link.stop();
      await manager.stop();
    });

    await createSlackAction({ channelSpacingMs: 0 }).execute(job(i), context(cfg, env, new Clock(), store));
    const m = slack.parents().find((p) => p.channel === 'CCAPTURE')!;
    assert.ok(actionIds(m).includes('tl_capture'), 'Capture again is offered');
    assert.ok(!actionIds(m).includes('tl_extend'), 'no Extend before a capture runs');

    sm.deliver(click(m, 'tl_capture'));
    await sm.until(() => results.length === 1, 15_000, 'the capture click');
    assert.deepEqual(results, ['captured']);
    assert.match(slack.replies(m.ts).at(-1)!.text, /Capturing profile, offcpu for 1 s .*by <@UALICE>/);
    assert.ok(actionIds(m).includes('tl_extend'), 'Extend shows while the capture runs');

    sm.deliver(click(m, 'tl_extend'));
    await sm.until(() => results.length === 2, 15_000, 'the extend click');
    assert.deepEqual(results, ['captured', 'extended']);
    assert.match(slack.replies(m.ts).at(-1)!.text, /Capture extended by 30 s/);

    await sm.until(
      () => slack.replies(m.ts).some((r) => /Capture again done/.test(r.text)),
      60_000,
      'the bundle in the thread',
    );
    const file = [...slack.files.values()].find((f) => f.threadTs === m.ts);
    assert.ok(file && file.received! > 0 && file.completions === 1, 'the tarball was uploaded into the thread');
    assert.equal(bundles.length, 1);
    const manifest = JSON.parse(readFileSync(join(bundles[0], 'manifest.json'), 'utf8'));
    assert.equal(manifest.target.cgroup_id, String(cg.id), JSON.stringify(manifest.target));
    assert.ok(manifest.timings.capture_ms >= 30_000, `the window grew by 30 s: ${manifest.timings.capture_ms} ms`);
    assert.ok(!actionIds(m).includes('tl_extend'), 'Extend is gone once the capture ended');
  },
  { timeout: 90_000 },
);

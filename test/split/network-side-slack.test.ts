// The network side's Slack link as the engine runs it: with an app token file it connects Socket Mode, the rule's
// Slack action posts its message with buttons through the queue, a click silences through the probe side's silence
// service, and a Capture again click becomes a capture request whose bundle (reported back as a requested capture)
// lands in the incident's thread.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { buildConfig } from '../../src/config.ts';
import { NetworkSide, ruleActions } from '../../src/split/network-side.ts';
import { localSilences } from '../../src/rules/silence-service.ts';
import { Suppressor } from '../../src/rules/evaluate/suppress.ts';
import type { CaptureRequestMsg } from '../../src/capture/request-schema.ts';
import { recordingLogger } from '../actions/fixtures/incident.ts';
import { rule } from '../support/rule-fixtures.ts';
import { FakeSlack, type FakeMessage } from '../support/fake-slack.ts';
import { FakeSocketMode } from '../support/fake-socket-mode.ts';
import { BUNDLES_DIR, bundle, incident } from '../actions/slack/helpers.ts';

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

function click(m: FakeMessage, actionId: string, value: string): unknown {
  return {
    type: 'block_actions',
    user: { id: 'UALICE', username: 'alice' },
    container: { type: 'message', message_ts: m.ts, channel_id: m.channel },
    actions: [{ type: 'button', action_id: actionId, value, action_ts: `${Date.now() / 1000}` }],
  };
}

test('the network side connects Socket Mode from its config; clicks silence and capture through its probe access', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-net-slack-'));
  writeFileSync(join(dir, 'bot'), `${slack.token}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'app'), `${slack.appToken}\n`, { mode: 0o600 });
  const suppressor = new Suppressor();
  const asked: CaptureRequestMsg[] = [];
  const registry = new Registry();
  const ns = new NetworkSide({
    config: buildConfig(
      {
        host: 'node-a',
        listen: '127.0.0.1:0',
        data_dir: dir,
        bundles: { dir: BUNDLES_DIR },
        slack: {
          api_url: slack.url,
          token_file: join(dir, 'bot'),
          app_token_file: join(dir, 'app'),
          channel: 'CNETSIDE',
          group_wait: '0s',
          interactivity: { allowed_users: ['UALICE'] },
        },
      },
      {},
    ),
    log: recordingLogger() as never,
    env: {},
    probe: {
      metrics: async () => ({ text: '', contentType: 'text/plain' }),
      silences: localSilences(() => suppressor),
      requestCapture: async (r) => {
        asked.push(r);
        return {
          accepted: true,
          captureId: 'cap-1',
          incidentId: 'req-1',
          key: 'slack-capture{}',
          durationMs: 10_000,
          probes: ['profile', 'offcpu'],
          target: { cgroupPath: '/kubepods/burstable/pod-web-1/c1' },
        };
      },
      extendCapture: async () => ({ extended: true, endsAt: Date.now() + 40_000 }),
    },
    apiToken: 'network-side-slack-test-token-0123',
    metricsRegistry: registry,
  });
  try {
    await ns.start();
    const r = rule({
      name: 'cpu-throttling',
      actions: [{ type: 'slack' }],
      capture: { probes: ['profile'], durationMs: 15_000, options: {} },
    });
    ns.setRules(ruleActions([r]));
    const i = incident('web-1', Date.now());
    await ns.record({ incident: i, capture: 'none', dispatch: 'firing', ruleHash: ruleActions([r])[0].hash });
    await sm.until(() => slack.parents().some((p) => p.channel === 'CNETSIDE'), 15_000, 'the incident message');
    const m = slack.parents().find((p) => p.channel === 'CNETSIDE')!;
    const ids = JSON.stringify(m.blocks);
    assert.match(ids, /tl_silence/);
    assert.match(ids, /tl_capture/, 'the probe side takes capture requests: Capture again is offered');

    sm.deliver(click(m, 'tl_silence', '1h'));
    await sm.until(() => suppressor.list().length === 1, 15_000, 'the silence on the probe side');
    assert.equal(suppressor.list()[0].author, 'slack:alice');

    sm.deliver(click(m, 'tl_capture', 'capture'));
    await sm.until(() => asked.length === 1, 15_000, 'the capture request');
    assert.deepEqual(asked[0].target, { kind: 'cgroup', path: '/kubepods/burstable/pod-web-1/c1' });
    assert.deepEqual(asked[0].probes, ['profile', 'offcpu']);
    assert.equal(asked[0].durationMs, 15_000, "the rule's capture duration");
    assert.equal(asked[0].source.kind, 'slack');
    assert.equal(asked[0].source.who, 'alice');
    assert.deepEqual(asked[0].join, { key: i.key });
    // The probe side reports the requested capture's end: its bundle goes into the thread.
    const b = bundle('20261125T140500-cpu-throttling-0c0ffee0', 4096);
    await ns.record({
      incident: { ...i, id: 'req-1' },
      capture: 'done',
      bundle: b,
      request: { captureId: 'cap-1', source: asked[0].source },
    });
    await sm.until(
      () => slack.replies(m.ts).some((x) => /Capture again done/.test(x.text)),
      15_000,
      'the bundle in the thread',
    );
    const file = [...slack.files.values()].find((f) => f.threadTs === m.ts);
    assert.equal(file?.received, 4096);
    const clicks = await registry.getSingleMetricAsString('tripline_slack_clicks_total');
    assert.match(clicks, /tripline_slack_clicks_total\{result="silenced"\} 1/);
    assert.match(clicks, /tripline_slack_clicks_total\{result="captured"\} 1/);
  } finally {
    await ns.stop(2000);
    rmSync(dir, { recursive: true, force: true });
  }
});

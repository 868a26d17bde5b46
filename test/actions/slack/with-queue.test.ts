/**
 * Integration: the Slack and scale actions of one rule through the real queue back ends (BullMQ on a real
 * redis-server, and in-process), against the local Slack and Kubernetes servers. The scale result reaches the
 * Slack thread through the queue (ctx.notify), and two engines on one Redis make one thread and one PATCH.
 */
import { skipOrFail } from '../../support/kernel.ts';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig } from '../../../src/config.ts';
import { openQueue } from '../../../src/actions/open-queue.ts';
import type { ActionQueue } from '../../../src/actions/queue.ts';
import type { ActionSpec } from '../../../src/rules/types.ts';
import { startRedis } from '../../support/redis.ts';
import type { TestRedis } from '../../support/redis.ts';
import { FakeSlack } from '../../support/fake-slack.ts';
import { FakeKube } from '../../support/fake-kube.ts';
import { recordingLogger, uniqueName } from '../fixtures/incident.ts';
import { bundle, BUNDLES_DIR, incident } from './helpers.ts';

const slack = new FakeSlack();
const kube = new FakeKube();
let redis: TestRedis | undefined;
const queues: ActionQueue[] = [];

before(async () => {
  await slack.start();
  await kube.start();
  try {
    redis = await startRedis();
  } catch {
    redis = undefined;
  }
});
after(async () => {
  for (const q of queues) await q.close(1000).catch(() => undefined);
  await slack.stop();
  await kube.stop();
  await redis?.stop();
  assert.deepEqual(kube.forbidden, [], 'every Kubernetes API call made is listed in src/kube/api-calls.ts');
});

async function until(what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function engine(
  redisUrl: string | undefined,
  prefix: string,
  name: string,
  channel: string,
): Promise<ActionQueue> {
  const config = buildConfig(
    {
      // A fresh data_dir of its own (the engine keeps in-process action state there).
      host: 'node-a',
      data_dir: mkdtempSync(join(tmpdir(), 'tripline-with-queue-')),
      redis: redisUrl ? { url: redisUrl, prefix } : {},
      slack: { api_url: slack.url, channel, group_wait: '200ms' },
      kubernetes: { api_url: kube.url },
      bundles: { dir: BUNDLES_DIR },
      actions: { attempts: 3, backoff: '100ms' },
    },
    {},
  );
  const q = await openQueue({
    config,
    log: recordingLogger(),
    name,
    env: { SLACK_BOT_TOKEN: slack.token },
    stalledIntervalMs: 1000,
    lockDurationMs: 5000,
  });
  queues.push(q);
  await q.start();
  return q;
}

for (const backend of ['memory', 'redis'] as const) {
  test(`${backend} queue: one thread with the bundle and the scale result, one PATCH, also with two engines`, async (t) => {
    if (backend === 'redis' && !redis) {
      skipOrFail(t, 'redis-server is not available');
      return;
    }
    const namespace = `q${backend}`;
    const uid = kube.addDeployment(namespace, 'web', 2, 1)[0];
    const channel = `C${backend.toUpperCase()}`;
    const prefix = uniqueName(),
      name = uniqueName();
    const engines =
      backend === 'redis'
        ? [await engine(redis!.url, prefix, name, channel), await engine(redis!.url, prefix, name, channel)]
        : [await engine(undefined, prefix, name, channel)];
    const actions: ActionSpec[] = [
      { type: 'slack' },
      {
        type: 'scale',
        target: 'auto',
        step: '+1',
        max: 4,
        cooldownMs: 600_000,
        dryRun: false,
        whenCause: ['limit-bound'],
        verifyMs: 0,
      },
    ];
    const b = bundle(`20261125T140000-cpu-throttling-${backend}0001`);
    const i = incident('web-1', Date.now(), { target: { pod: { uid } }, labels: { namespace, pod: 'web-1' } });
    // Every engine reports the same incident key (as engines on several hosts would).
    for (const [k, q] of engines.entries()) {
      const inc = k === 0 ? i : { ...i, host: `host-${k}` };
      for (const index of [0, 1])
        await q.enqueue({ event: 'firing', incident: inc, bundle: b, spec: actions[index], index, actions });
    }
    const parents = (): ReturnType<FakeSlack['parents']> => slack.parents().filter((m) => m.channel === channel);
    await until(
      'the scale note in the thread',
      () => parents().length > 0 && slack.replies(parents()[0].ts).some((r) => /Scaled Deployment/.test(r.text)),
    );
    await until('the bundle in the thread', () =>
      [...slack.files.values()].some((f) => f.channel === channel && f.completions > 0),
    );
    // The parent shows the scale result too (after the channel's ~1 s spacing).
    await until('the parent updated with the scale result', () =>
      /What tripline did.*Scaled Deployment/.test(JSON.stringify(parents()[0].blocks)),
    );
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(parents().length, 1, 'one Slack thread');
    const files = [...slack.files.values()].filter((f) => f.channel === channel);
    assert.equal(files.length, 1);
    assert.equal(files[0].threadTs, parents()[0].ts);
    assert.equal(kube.patches().filter((p) => p.path.includes(`/namespaces/${namespace}/`)).length, 1, 'one PATCH');
    assert.equal(kube.replicas.get(`deployments/${namespace}/web`), 3);
  });
}

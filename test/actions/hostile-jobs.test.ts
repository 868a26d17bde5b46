// Redis is not trusted: jobs planted straight into Redis (as anything that can write to it could) with a foreign
// tarball path, a foreign upload URL, an unknown rule or a crafted spec are refused or neutralised, and counted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { buildConfig } from '../../src/config.ts';
import { openQueue } from '../../src/actions/open-queue.ts';
import type { ActionQueue, JobSettled } from '../../src/actions/queue.ts';
import { logAction } from '../../src/actions/log.ts';
import { slackAction } from '../../src/actions/slack/index.ts';
import type { Action, ActionJob } from '../../src/actions/types.ts';
import { ruleActionsHash } from '../../src/rules/actions-hash.ts';
import { startRedis, type TestRedis } from '../support/redis.ts';
import { makeIncident, recordingLogger, uniqueName } from './fixtures/incident.ts';

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

const rule = { name: 'r1', actions: [{ type: 'log' }, { type: 'slack' }] };
const version = { ...rule, hash: ruleActionsHash(rule) };

interface World {
  q: ActionQueue;
  log: ReturnType<typeof recordingLogger>;
  ran: ActionJob[];
  settled: JobSettled[];
  metrics: Registry;
  plant(type: string, data: Record<string, unknown>): Promise<string>;
  bundlesDir: string;
  close(): Promise<void>;
}

async function world(): Promise<World> {
  const prefix = uniqueName();
  const name = uniqueName();
  const dataDir = mkdtempSync(join(tmpdir(), 'tripline-hostile-'));
  const bundlesDir = join(dataDir, 'bundles');
  const config = buildConfig(
    {
      // The fixture incidents' host: a planted job naming this host's incident reaches the bundle path check.
      host: 'host-a',
      data_dir: dataDir,
      redis: { url: redis.url, prefix },
      actions: { attempts: 1, backoff: '100ms' },
      bundles: { dir: bundlesDir },
      slack: { group_wait: '0s' },
    },
    {},
  );
  const ran: ActionJob[] = [];
  const recorder: Action = {
    ...logAction,
    async execute(job) {
      ran.push(job);
      return { status: 'delivered', summary: 'ran' };
    },
  } as Action;
  const metrics = new Registry();
  const log = recordingLogger();
  const q = await openQueue({
    config,
    log,
    name,
    metricsRegistry: metrics,
    registry: { log: recorder, slack: slackAction },
    rules: (n, h) => (n === version.name && h === version.hash ? version : undefined),
  });
  const settled: JobSettled[] = [];
  q.onSettled((s) => settled.push(s));
  await q.start();
  const conn = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  return {
    q,
    log,
    ran,
    settled,
    metrics,
    bundlesDir,
    async plant(type, data) {
      const queue = new Queue(`${name}-${type}`, { connection: conn, prefix });
      const id = `${type}-firing-${Math.random().toString(16).slice(2).padEnd(32, '0')}`;
      await queue.add('firing', { id, ...data }, { jobId: id, attempts: 1 });
      await queue.close();
      return id;
    },
    async close() {
      await q.close(1000);
      conn.disconnect();
    },
  };
}

async function settledOf(w: World, id: string): Promise<JobSettled> {
  for (let i = 0; i < 200; i++) {
    const s = w.settled.find((x) => x.id === id);
    if (s) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} never settled: ${JSON.stringify(w.log.lines.slice(-5))}`);
}

async function failures(w: World, reason: string): Promise<number> {
  const m = (await w.metrics.getMetricsAsJSON()).find((x) => x.name.endsWith('action_failures_total'));
  return (m?.values ?? []).filter((v) => v.labels.reason === reason).reduce((a, v) => a + v.value, 0);
}

const base = (over: Record<string, unknown> = {}) => ({
  event: 'firing',
  incident: makeIncident('r1', { pod: 'web-1' }),
  spec: { type: 'log' },
  index: 0,
  actions: rule.actions,
  rule: { name: version.name, hash: version.hash },
  enqueuedAt: Date.now(),
  ...over,
});

test('a planted job of an unknown rule, or with no rule version, is refused and counted; nothing runs', async () => {
  const w = await world();
  try {
    const a = await w.plant('log', base({ rule: { name: 'r1', hash: '0123456789abcdef' } }));
    const b = await w.plant('log', base({ rule: undefined }));
    assert.equal((await settledOf(w, a)).state, 'failed');
    assert.equal((await settledOf(w, b)).state, 'failed');
    assert.equal(w.ran.length, 0);
    assert.equal(await failures(w, 'unknown_rule'), 2);
  } finally {
    await w.close();
  }
});

test('a planted job with malformed data is refused and counted', async () => {
  const w = await world();
  try {
    const id = await w.plant('log', base({ incident: { id: 'x' }, index: 9999 }));
    const s = await settledOf(w, id);
    assert.equal(s.state, 'failed');
    assert.match(s.state === 'failed' ? s.reason : '', /invalid job data/);
    assert.equal(w.ran.length, 0);
    assert.equal(await failures(w, 'invalid_job'), 1);
  } finally {
    await w.close();
  }
});

test("a planted job's own spec is ignored: the action runs with the loaded rule's spec", async () => {
  const w = await world();
  try {
    const id = await w.plant(
      'log',
      base({ spec: { type: 'log', url: 'http://evil.example/' }, actions: [{ type: 'log', evil: true }] }),
    );
    assert.equal((await settledOf(w, id)).state, 'completed');
    assert.deepEqual(w.ran[0].spec, { type: 'log' });
    assert.deepEqual(w.ran[0].actions, rule.actions);
  } finally {
    await w.close();
  }
});

test('a planted Slack job whose bundle tarball is a host file uploads nothing and is counted', async () => {
  const w = await world();
  try {
    const secret = join(mkdtempSync(join(tmpdir(), 'tripline-secret-')), 'shadow.tar.gz');
    writeFileSync(secret, 'root:$6$secret');
    const id = await w.plant(
      'slack',
      base({
        spec: { type: 'slack' },
        index: 1,
        bundle: { id: 'b1', dir: '/etc', tarball: secret, partial: false, findings: { headlines: [] } },
      }),
    );
    const s = await settledOf(w, id);
    assert.equal(s.state, 'failed', JSON.stringify(s));
    assert.match(s.state === 'failed' ? s.reason : '', /not a tarball in the bundles folder/);
    assert.equal(await failures(w, 'bundle_outside'), 1);
  } finally {
    await w.close();
  }
});

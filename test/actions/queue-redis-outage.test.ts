/** Integration: Redis stopped for 10 s while incidents arrive, then restarted: nothing lost, nothing doubled. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { buildConfig } from '../../src/config.ts';
import { openQueue } from '../../src/actions/open-queue.ts';
import type { ActionQueue } from '../../src/actions/queue.ts';
import type { ActionSpec } from '../../src/rules/types.ts';
import { startRedis, type TestRedis } from '../support/redis.ts';
import { startReceiver, type Receiver } from './fixtures/receiver.ts';
import { makeIncident, jobInput, recordingLogger, uniqueName } from './fixtures/incident.ts';

let redis: TestRedis;
let r: Receiver;
let q: ActionQueue | undefined;

before(async () => {
  redis = await startRedis();
  r = await startReceiver();
});
after(async () => {
  await q?.close(2000).catch(() => undefined);
  await r.close();
  await redis.stop();
});

test(
  'incidents arriving while Redis is down are held, then delivered once each when it is back',
  { timeout: 120_000 },
  async () => {
    const cfg = buildConfig(
      { redis: { url: redis.url, prefix: uniqueName() }, actions: { attempts: 5, backoff: '200ms' } },
      {},
    );
    const reg = new Registry();
    q = await openQueue({
      config: cfg,
      log: recordingLogger(),
      name: uniqueName(),
      metricsRegistry: reg,
      enqueueTimeoutMs: 1000,
    });
    await q.start();
    const actions: ActionSpec[] = [{ type: 'webhook', url: r.url, timeoutMs: 2000 }];
    const ids = new Set<string>();

    ids.add((await q.enqueue(jobInput(makeIncident('outage', { pod: 'before' }), actions))).id);
    await r.waitFor(1);

    await redis.pause();
    const downAt = Date.now();
    let spilled = 0;
    for (let i = 0; Date.now() - downAt < 10_000; i++) {
      const inc = makeIncident('outage', { pod: `during-${i}` });
      const res = await q.enqueue(jobInput(inc, actions));
      // The same incident reported twice during the outage (a second engine, a repeat): still one delivery.
      const again = await q.enqueue(jobInput({ ...inc, host: 'host-b' }, actions));
      assert.equal(again.id, res.id);
      if (res.spilled) spilled++;
      ids.add(res.id);
      await new Promise((res2) => setTimeout(res2, 1000));
    }
    assert.ok(spilled >= 5, `jobs held during the outage: ${spilled}`);
    assert.equal(r.requests.length, 1, 'nothing delivered while Redis was down');
    assert.match(
      await reg.getSingleMetricAsString('tripline_action_spill_jobs'),
      new RegExp(`tripline_action_spill_jobs ${spilled * 2}\\b`),
    );

    await redis.start();
    await r.waitFor(ids.size, 60_000);
    await new Promise((res) => setTimeout(res, 2000));
    const keys = r.requests.map((x) => String(x.headers['x-tripline-idempotency-key']));
    assert.equal(r.requests.length, ids.size, 'one request per incident');
    assert.deepEqual(new Set(keys), ids);
    assert.equal(await q.depth(), 0);
  },
);

test(
  'close returns while Redis is down (held jobs are reported lost, workers forced shut)',
  { timeout: 60_000 },
  async () => {
    await q?.close(1000);
    const cfg = buildConfig({ redis: { url: redis.url, prefix: uniqueName() } }, {});
    const log = recordingLogger();
    q = await openQueue({ config: cfg, log, name: uniqueName(), enqueueTimeoutMs: 500 });
    await q.start();
    await redis.pause();
    try {
      const res = await q.enqueue(jobInput(makeIncident('outage', { pod: 'at-close' }), [{ type: 'log' }]));
      assert.equal(res.spilled, true);
      const t0 = Date.now();
      await q.close(500);
      q = undefined;
      assert.ok(Date.now() - t0 < 30_000, `close took ${Date.now() - t0} ms`);
      assert.ok(log.lines.some((l) => l.level === 'error' && /held in memory are lost/.test(l.msg ?? '')));
    } finally {
      await redis.start();
    }
  },
);

/** Integration: the BullMQ back end against a real redis-server and a local webhook receiver. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { buildConfig } from '../../src/config.ts';
import { openQueue } from '../../src/actions/open-queue.ts';
import type { ActionQueue } from '../../src/actions/queue.ts';
import type { ActionSpec } from '../../src/rules/types.ts';
import { hasCode } from '../../src/errors.ts';
import { startRedis, type TestRedis } from '../support/redis.ts';
import { startReceiver, type Receiver } from './fixtures/receiver.ts';
import { makeIncident, jobInput, recordingLogger, uniqueName } from './fixtures/incident.ts';
import { settled, watchSettled } from './fixtures/settled.ts';

let redis: TestRedis;
const open: ActionQueue[] = [];
const receivers: Receiver[] = [];

before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const q of open) await q.close(1000).catch(() => undefined);
  for (const r of receivers) await r.close();
  await redis.stop();
});

function config(extra: { attempts?: number; backoff?: string } = {}) {
  return buildConfig(
    {
      redis: { url: redis.url, prefix: uniqueName() },
      actions: { attempts: extra.attempts ?? 3, backoff: extra.backoff ?? '100ms' },
    },
    {},
  );
}

async function queue(
  cfg = config(),
  name = uniqueName(),
  metricsRegistry?: Registry,
  keepCompleted?: number,
): Promise<ActionQueue> {
  const q = await openQueue({
    config: cfg,
    log: recordingLogger(),
    name,
    metricsRegistry,
    stalledIntervalMs: 1000,
    lockDurationMs: 2000,
    keepCompleted,
  });
  open.push(q);
  watchSettled(q);
  return q;
}

async function receiver(reply?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(reply);
  receivers.push(r);
  return r;
}

const hook = (url: string): ActionSpec[] => [{ type: 'webhook', url, timeoutMs: 2000 }];

test('two engines on one Redis deliver one incident key once, also after the job was removed on completion', async () => {
  const r = await receiver();
  const cfg = config();
  const name = uniqueName();
  // keepCompleted 0: each job is deleted as soon as it completes, so only the dedup key can stop a repeat.
  const a = await queue(cfg, name, undefined, 0);
  const b = await queue(cfg, name, undefined, 0);
  await a.start();
  await b.start();
  const inc = makeIncident('cpu-throttling', { pod: 'web-1' });
  const first = await a.enqueue(jobInput(inc, hook(r.url)));
  const second = await b.enqueue(jobInput({ ...inc, host: 'host-b', id: 'other-trip' }, hook(r.url)));
  assert.equal(second.id, first.id);
  await r.waitFor(1);
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(
    (await a.counts()).reduce((n, c) => n + c.completed, 0),
    0,
    'completed jobs were removed',
  );
  // A third report long after delivery: the dedup key still holds although the job itself may be gone.
  const third = await a.enqueue(jobInput(inc, hook(r.url)));
  assert.equal(third.duplicate, true);
  assert.equal(third.id, second.id);
  await new Promise((res) => setTimeout(res, 1500));
  assert.equal(r.requests.length, 1);
  assert.equal(r.requests[0].headers['x-tripline-idempotency-key'], third.id);
});

test('two engines: trip, resolve, trip again: three deliveries (firing, resolved, firing of the next trip)', async () => {
  const r = await receiver();
  const cfg = config();
  const name = uniqueName();
  const a = await queue(cfg, name);
  const b = await queue(cfg, name);
  await a.start();
  await b.start();
  const inc = makeIncident('retrip', { pod: 'web-1' });
  const events = [
    [inc, 'firing'],
    [{ ...inc, status: 'resolved' as const }, 'resolved'],
    [{ ...inc, id: 'trip-2' }, 'firing'],
  ] as const;
  for (const [n, [i, event]] of events.entries()) {
    for (const q of [a, b])
      await q.enqueue(jobInput({ ...i, host: q === a ? 'host-a' : 'host-b' }, hook(r.url), 0, event));
    await r.waitFor(n + 1);
  }
  await new Promise((res) => setTimeout(res, 1000));
  assert.deepEqual(
    r.requests.map((x) => x.headers['x-tripline-event']),
    ['firing', 'resolved', 'firing'],
  );
  assert.equal(new Set(r.requests.map((x) => x.headers['x-tripline-idempotency-key'])).size, 3);
});

test('429 with Retry-After parks the job without spending an attempt, then delivers once', async () => {
  const r = await receiver((n) => (n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
  // One attempt only: if the 429 spent it, the job would land in the failed set.
  const q = await queue(config({ attempts: 1 }));
  await q.start();
  const t0 = Date.now();
  const { id } = await q.enqueue(jobInput(makeIncident(), hook(r.url)));
  const s = await settled(q, id);
  assert.equal(s.state, 'completed');
  assert.equal(r.requests.length, 2);
  assert.ok(
    r.requests[1].at - r.requests[0].at >= 900,
    `second try ${r.requests[1].at - r.requests[0].at} ms after the 429`,
  );
  assert.ok(Date.now() - t0 >= 900);
  assert.deepEqual(await q.failed(), []);
});

test('5xx until the attempt limit lands in the failed set; retry delivers it', async () => {
  let ok = false;
  const r = await receiver(() => ({ status: ok ? 200 : 503 }));
  const reg = new Registry();
  const q = await queue(config({ attempts: 3, backoff: '50ms' }), uniqueName(), reg);
  await q.start();
  const { id } = await q.enqueue(jobInput(makeIncident(), hook(r.url)));
  const s = await settled(q, id);
  assert.equal(s.state, 'failed');
  assert.equal(r.requests.length, 3);
  const failed = await q.failed();
  assert.equal(failed.length, 1);
  assert.equal(failed[0].id, id);
  assert.equal(failed[0].attempts, 3);
  assert.match(failed[0].reason, /HTTP 503/);
  const metrics = await reg.getSingleMetricAsString('tripline_action_failures_total');
  assert.match(metrics, /action="webhook",reason="http_503"} 3/);
  ok = true;
  const again = settled(q, id);
  await q.retry(id);
  assert.equal((await again).state, 'completed');
  assert.equal(r.requests.length, 4);
  assert.deepEqual(await q.failed(), []);
  await assert.rejects(q.retry('webhook-firing-nope'), (e) => hasCode(e, 'ACTION_ERR_CONFIG'));
});

test('a 4xx is unrecoverable: straight to the failed set after one request', async () => {
  const r = await receiver(() => ({ status: 404 }));
  const q = await queue(config({ attempts: 5 }));
  await q.start();
  const { id } = await q.enqueue(jobInput(makeIncident(), hook(r.url)));
  assert.equal((await settled(q, id)).state, 'failed');
  assert.equal(r.requests.length, 1);
});

test('a Redis that may evict keys is refused at start with the fix', async () => {
  const evicting = await startRedis(['--maxmemory-policy', 'allkeys-lru']);
  try {
    const cfg = buildConfig({ redis: { url: evicting.url } }, {});
    await assert.rejects(
      openQueue({ config: cfg, log: recordingLogger(), name: uniqueName() }),
      (e) => hasCode(e, 'ACTION_ERR_REDIS') && /noeviction/.test(e.hint),
    );
  } finally {
    await evicting.stop();
  }
});

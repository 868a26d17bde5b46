/** The in-process back end: same semantics as the Redis one (dedup, backoff, failed set, retry, Retry-After parking). */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { buildConfig } from '../../src/config.ts';
import { openQueue } from '../../src/actions/open-queue.ts';
import type { ActionQueue } from '../../src/actions/queue.ts';
import type { ActionSpec } from '../../src/rules/types.ts';
import { hasCode } from '../../src/errors.ts';
import { startReceiver, type Receiver } from './fixtures/receiver.ts';
import { makeIncident, jobInput, recordingLogger } from './fixtures/incident.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../../src/actions/store-file.ts';
import { logAction } from '../../src/actions/log.ts';
import type { Action } from '../../src/actions/types.ts';
import { settled, watchSettled } from './fixtures/settled.ts';

const open: ActionQueue[] = [];
const receivers: Receiver[] = [];
after(async () => {
  for (const q of open) await q.close();
  for (const r of receivers) await r.close();
});

async function setup(
  reply: Parameters<typeof startReceiver>[0],
  actions: { attempts?: number; backoff?: string } = {},
  reg?: Registry,
) {
  const r = await startReceiver(reply);
  receivers.push(r);
  const config = buildConfig({ actions: { attempts: actions.attempts ?? 3, backoff: actions.backoff ?? '20ms' } }, {});
  const q = await openQueue({ config, log: recordingLogger(), metricsRegistry: reg });
  open.push(q);
  watchSettled(q);
  const specs: ActionSpec[] = [{ type: 'webhook', url: r.url, timeoutMs: 2000 }];
  return { r, q, specs };
}

test('without redis.url the queue is in-process and says it is not durable', async () => {
  const { q } = await setup(() => ({ status: 200 }));
  assert.equal(q.kind, 'memory');
  assert.equal(q.durable, false);
});

test('jobs wait until start, then deliver once; the same incident key is deduplicated after delivery', async () => {
  const { r, q, specs } = await setup(() => ({ status: 200 }));
  const inc = makeIncident();
  const a = await q.enqueue(jobInput(inc, specs));
  const b = await q.enqueue(jobInput({ ...inc, host: 'other' }, specs));
  assert.equal(b.duplicate, true);
  assert.equal(await q.depth(), 1);
  const done = settled(q, a.id);
  await q.start();
  assert.equal((await done).state, 'completed');
  assert.equal((await q.enqueue(jobInput(inc, specs))).duplicate, true);
  // A different event of the same incident is a different delivery.
  const resolved = await q.enqueue(jobInput({ ...inc, status: 'resolved' }, specs, 0, 'resolved'));
  assert.equal(resolved.duplicate, false);
  await settled(q, resolved.id);
  assert.equal(r.requests.length, 2);
  assert.deepEqual(
    r.requests.map((x) => x.headers['x-tripline-event']),
    ['firing', 'resolved'],
  );
});

test('429 with Retry-After parks without spending an attempt', async () => {
  const { r, q, specs } = await setup(
    (n) => (n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }),
    { attempts: 1 },
  );
  await q.start();
  const { id } = await q.enqueue(jobInput(makeIncident(), specs));
  assert.equal((await settled(q, id)).state, 'completed');
  assert.equal(r.requests.length, 2);
  assert.ok(r.requests[1].at - r.requests[0].at >= 950);
});

test('5xx until the limit: failed set with the reason; retry delivers; unknown id is refused', async () => {
  let ok = false;
  const reg = new Registry();
  const { r, q, specs } = await setup(() => ({ status: ok ? 200 : 502 }), { attempts: 3 }, reg);
  await q.start();
  const { id } = await q.enqueue(jobInput(makeIncident(), specs));
  assert.equal((await settled(q, id)).state, 'failed');
  assert.equal(r.requests.length, 3);
  // Backoff grows: the gap before the 3rd try is at least the 2nd's minimum (2 × 20 ms / 2).
  assert.ok(r.requests[2].at - r.requests[1].at >= 20);
  const [f] = await q.failed();
  assert.equal(f.id, id);
  assert.equal(f.attempts, 3);
  assert.match(f.reason, /HTTP 502/);
  assert.match(await reg.getSingleMetricAsString('tripline_action_queue_depth'), /action="webhook",state="failed"} 1/);
  ok = true;
  const again = settled(q, id);
  await q.retry(id);
  assert.equal((await again).state, 'completed');
  assert.deepEqual(await q.failed(), []);
  assert.match(
    await reg.getSingleMetricAsString('tripline_action_delivery_seconds'),
    /tripline_action_delivery_seconds_count\{action="webhook",outcome="delivered"\} 1\b/,
  );
  assert.match(
    await reg.getSingleMetricAsString('tripline_action_failures_total'),
    /action="webhook",reason="http_502"\} 3\b/,
  );
  await assert.rejects(q.retry(id), (e) => hasCode(e, 'ACTION_ERR_CONFIG'));
});

test('an unknown action type fails at once as unrecoverable', async () => {
  const { q } = await setup(() => ({ status: 200 }), { attempts: 5 });
  await q.start();
  const specs = [{ type: 'no-such-action' } as unknown as ActionSpec];
  const { id } = await q.enqueue(jobInput(makeIncident(), specs));
  const s = await settled(q, id);
  assert.equal(s.state, 'failed');
  assert.equal((await q.failed())[0].attempts, 1);
});

test('a scheduled job (notBefore) waits for its time, is kept in the store, and runs once after a restart', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'tripline-sched-')), 'action-store.json');
  const ran: { id: string; at: number }[] = [];
  const log: Action = {
    ...logAction,
    async execute(job) {
      ran.push({ id: job.id, at: Date.now() });
      return { status: 'delivered', summary: 'ran' };
    },
  } as Action;
  const config = buildConfig({}, {});
  const start = async (): Promise<ActionQueue> => {
    const q = await openQueue({ config, log: recordingLogger(), registry: { log }, store: new FileStore(file) });
    await q.start();
    return q;
  };
  const first = await start();
  const due = Date.now() + 600;
  const { id } = await first.enqueue({
    ...jobInput(makeIncident('r', { pod: 'p' }), [{ type: 'log' }], 0, 'restore'),
    notBefore: due,
  });
  assert.equal((await first.status(id)).state, 'delayed');
  // Idle for the CLI: a job scheduled for later is not waited for.
  const idle = await Promise.race([
    (first as unknown as { whenIdle(): Promise<void> }).whenIdle().then(() => 'idle'),
    new Promise((r) => setTimeout(() => r('busy'), 300)),
  ]);
  assert.equal(idle, 'idle');
  await first.close();
  assert.equal(ran.length, 0);
  const second = await start();
  open.push(second);
  for (let i = 0; i < 100 && ran.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(ran.length, 1);
  assert.ok(ran[0].at >= due, 'not before its time');
  assert.equal(ran[0].id, id);
  await second.close();
  open.splice(open.indexOf(second), 1);
  const third = await start();
  open.push(third);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(ran.length, 1, 'settled: not run again after the next restart');
});

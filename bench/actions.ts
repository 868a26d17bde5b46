/**
 * Action queue benchmark: webhook jobs through each back end to a local HTTP receiver.
 *
 *   scripts/node bench/actions.ts [--jobs 2000] [--latency-jobs 300] [--rate 50] [--concurrency 4] [--fsync-always]
 *
 * Throughput: `--jobs` distinct incidents enqueued at once; jobs/s from the first enqueue to the last delivery.
 * Latency: `--latency-jobs` incidents enqueued at `--rate` per second (an engine's real pace: trips are rare),
 * enqueue-to-arrival at the receiver, p50 / p99. Redis: a private redis-server (noeviction, AOF with Redis' default
 * fsync everysec, or always with --fsync-always), BullMQ with `--concurrency` workers per action type. In-process: the memory back end.
 */
import { buildConfig } from '../src/config.ts';
import { openQueue } from '../src/actions/open-queue.ts';
import type { ActionQueue } from '../src/actions/queue.ts';
import type { ActionSpec } from '../src/rules/types.ts';
import { startRedis } from '../test/support/redis.ts';
import { startReceiver } from '../test/actions/fixtures/receiver.ts';
import { makeIncident, jobInput, recordingLogger } from '../test/actions/fixtures/incident.ts';
import { sampleQuantile as quantile } from '../src/quantile.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const JOBS = arg('jobs', 2000);
const LATENCY_JOBS = arg('latency-jobs', 300);
const RATE = arg('rate', 50);
const CONCURRENCY = arg('concurrency', 4);
/** Redis AOF fsync policy: `everysec` is Redis' default; `always` (the tests' setting) fsyncs every write. */
const FSYNC = process.argv.includes('--fsync-always') ? 'always' : 'everysec';

async function run(kind: 'memory' | 'redis'): Promise<void> {
  const redis = kind === 'redis' ? await startRedis(['--appendfsync', FSYNC]) : undefined;
  const receiver = await startReceiver();
  const sentAt = new Map<string, number>();
  const config = buildConfig(
    {
      redis: redis ? { url: redis.url, prefix: `bench-${process.pid}` } : {},
      actions: { attempts: 3, backoff: '100ms' },
    },
    {},
  );
  const q: ActionQueue = await openQueue({
    config,
    log: recordingLogger(),
    name: `bench-${kind}`,
    concurrency: CONCURRENCY,
    keepCompleted: 0,
  });
  const specs: ActionSpec[] = [{ type: 'webhook', url: receiver.url, timeoutMs: 5000 }];
  try {
    await q.start();
    // Throughput: a burst.
    const t0 = performance.now();
    for (let i = 0; i < JOBS; i++) await q.enqueue(jobInput(makeIncident('bench', { container: `burst-${i}` }), specs));
    const tEnq = performance.now();
    await receiver.waitFor(JOBS, 300_000);
    const t1 = performance.now();
    const perSec = JOBS / ((t1 - t0) / 1000);
    // Latency: a steady trickle.
    const base = receiver.requests.length;
    for (let i = 0; i < LATENCY_JOBS; i++) {
      const before = Date.now();
      const { id } = await q.enqueue(jobInput(makeIncident('bench', { container: `steady-${i}` }), specs));
      sentAt.set(id, before);
      await new Promise((r) => setTimeout(r, 1000 / RATE));
    }
    await receiver.waitFor(base + LATENCY_JOBS, 120_000);
    const lat = receiver.requests
      .slice(base)
      .map((r) => r.at - sentAt.get(String(r.headers['x-tripline-idempotency-key']))!);
    const dupes =
      receiver.requests.length - new Set(receiver.requests.map((r) => r.headers['x-tripline-idempotency-key'])).size;
    console.log(
      `${kind.padEnd(6)}  burst ${JOBS} jobs: ${perSec.toFixed(0)} jobs/s (enqueue ${(JOBS / ((tEnq - t0) / 1000)).toFixed(0)}/s)  |  ` +
        `${LATENCY_JOBS} jobs at ${RATE}/s: enqueue→delivery p50 ${quantile(lat, 0.5).toFixed(1)} ms, p99 ${quantile(lat, 0.99).toFixed(1)} ms  |  duplicates ${dupes}`,
    );
  } finally {
    await q.close();
    await receiver.close();
    await redis?.stop();
  }
}

console.log(`node ${process.version}, concurrency ${CONCURRENCY}, redis appendfsync ${FSYNC}`);
await run('memory');
await run('redis');

/** Integration: an engine SIGKILLed between enqueue and delivery, or during delivery; the next engine delivers once. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { startRedis, type TestRedis } from '../support/redis.ts';
import { startReceiver, type Receiver } from './fixtures/receiver.ts';
import { uniqueName } from './fixtures/incident.ts';

const ENGINE = join(import.meta.dirname, 'fixtures', 'engine.ts');
let redis: TestRedis;
const children: ChildProcess[] = [];
const receivers: Receiver[] = [];

before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const r of receivers) await r.close();
  await redis.stop();
});

/** Starts the engine script; resolves once it printed `line` (a prefix), with the rest of that line. */
async function engine(args: string[], line: string): Promise<{ proc: ChildProcess; rest: string }> {
  const proc = spawn(process.execPath, [ENGINE, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  let out = '';
  const rest = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`engine did not print ${line} within 30 s: ${out}`)), 30_000);
    proc.stdout!.on('data', (d) => {
      out += String(d);
      const m = out.split('\n').find((l) => l.startsWith(line));
      if (m) {
        clearTimeout(t);
        resolve(m.slice(line.length).trim());
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`engine exited with ${code}: ${out}`));
    });
  });
  return { proc, rest };
}

async function kill(proc: ChildProcess): Promise<void> {
  const gone = new Promise((res) => proc.once('exit', res));
  proc.kill('SIGKILL');
  await gone;
}

test(
  'killed after enqueue, before any worker ran: the restarted engine delivers exactly once',
  { timeout: 90_000 },
  async () => {
    const r = await startReceiver();
    receivers.push(r);
    const prefix = uniqueName();
    const name = uniqueName();
    const first = await engine([redis.url, prefix, name, r.url, 'enqueue'], 'enqueued ');
    await kill(first.proc);
    assert.equal(r.requests.length, 0);
    await engine([redis.url, prefix, name, r.url, 'work'], 'ready');
    await r.waitFor(1);
    await new Promise((res) => setTimeout(res, 3000));
    assert.equal(r.requests.length, 1);
    assert.equal(r.requests[0].headers['x-tripline-idempotency-key'], first.rest);
  },
);

test(
  'killed during delivery: the job is taken over after its lock expires, under the same idempotency key',
  { timeout: 90_000 },
  async () => {
    // First request hangs (the engine dies while waiting for it); later ones succeed.
    const r = await startReceiver((n) => (n === 0 ? { status: 200, delayMs: 60_000 } : { status: 200 }));
    receivers.push(r);
    const prefix = uniqueName();
    const name = uniqueName();
    const first = await engine([redis.url, prefix, name, r.url, 'both'], 'enqueued ');
    await r.waitFor(1);
    await kill(first.proc);
    await engine([redis.url, prefix, name, r.url, 'work'], 'ready');
    await r.waitFor(2, 30_000);
    await new Promise((res) => setTimeout(res, 3000));
    const keys = new Set(r.requests.map((x) => x.headers['x-tripline-idempotency-key']));
    assert.deepEqual([...keys], [first.rest], 'every attempt carries the one idempotency key');
    assert.equal(r.requests.length, 2, 'one interrupted attempt, one completed delivery');
    const q = new Queue(`${name}-webhook`, { connection: { url: redis.url }, prefix });
    try {
      const c = await q.getJobCounts('completed', 'failed', 'active', 'waiting');
      assert.deepEqual(c, { completed: 1, failed: 0, active: 0, waiting: 0 });
    } finally {
      await q.close();
    }
  },
);

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBundle } from '../../src/bundle/writer.ts';
import { sweepBundles, scheduleRetention } from '../../src/bundle/retention.ts';
import { listBundles } from '../../src/bundle/store.ts';
import { hasCode } from '../../src/errors.ts';
import { findings, profileResult } from './fixtures/results.ts';

const base = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-retention-`));
after(() => rmSync(base, { recursive: true, force: true }));
const DAY = 86_400_000;
const NOW = Date.parse('2026-05-10T12:00:00Z');

async function make(root: string, tripAt: number): Promise<string> {
  const budget = { durationMs: 1000, maxEvents: 100, maxBytes: 1000 };
  const ref = await writeBundle({
    root,
    rule: 'ret',
    probesFrom: 'cli',
    durationMs: 1000,
    target: { pids: [1] },
    timings: { tripAt, attachStartedAt: tripAt, attachedAt: tripAt + 1, detachedAt: tripAt + 1000 },
    probes: [{ name: 'profile', status: 'ok', budget, result: profileResult(tripAt) }],
    findings,
    partial: false,
  });
  return ref.id;
}

function fresh(name: string): string {
  const d = join(base, name);
  mkdirSync(d);
  return d;
}

test('by age: bundles older than max_age go, younger stay', async () => {
  const root = fresh('age');
  const old = await make(root, NOW - 8 * DAY);
  const young = await make(root, NOW - 1 * DAY);
  const r = await sweepBundles(root, { maxAgeMs: 7 * DAY, maxCount: 100, maxBytes: 1e12 }, NOW);
  assert.deepEqual(r.removed, [{ name: old, reason: 'age' }]);
  assert.deepEqual(
    (await listBundles(root)).map((b) => b.id),
    [young],
  );
  assert.ok(!existsSync(join(root, `${old}.tar.gz`)));
});

test('by count: the oldest go first', async () => {
  const root = fresh('count');
  const ids = [];
  for (let i = 5; i >= 1; i--) ids.push(await make(root, NOW - i * 60_000));
  const r = await sweepBundles(root, { maxAgeMs: 7 * DAY, maxCount: 2, maxBytes: 1e12 }, NOW);
  assert.deepEqual(
    r.removed.map((x) => x.name),
    ids.slice(0, 3),
  );
  assert.deepEqual(
    (await listBundles(root)).map((b) => b.id),
    ids.slice(3),
  );
});

test('by total size: oldest go until the rest fits; the newest always stays', async () => {
  const root = fresh('size');
  const ids = [];
  for (let i = 3; i >= 1; i--) ids.push(await make(root, NOW - i * 60_000));
  const sizes = (await listBundles(root)).map((b) => b.bytes);
  const r = await sweepBundles(root, { maxAgeMs: 7 * DAY, maxCount: 100, maxBytes: sizes[1] + sizes[2] }, NOW);
  assert.deepEqual(r.removed, [{ name: ids[0], reason: 'size' }]);
  const r2 = await sweepBundles(root, { maxAgeMs: 7 * DAY, maxCount: 100, maxBytes: 1 }, NOW);
  assert.deepEqual(
    r2.removed.map((x) => x.name),
    [ids[1]],
  );
  assert.deepEqual(
    (await listBundles(root)).map((b) => b.id),
    [ids[2]],
  );
});

test('stale .partial folders and .tmp tarballs of crashed runs are removed after the grace period', async () => {
  const root = fresh('partial');
  const keep = await make(root, NOW - 60_000);
  const stale = join(root, '.partial-20260510T110000-ret-0badf00d');
  const recent = join(root, '.partial-20260510T115959-ret-0000beef');
  mkdirSync(stale);
  writeFileSync(join(stale, 'summary.md'), 'half');
  mkdirSync(recent);
  writeFileSync(join(root, '.tmp-20260510T110000-ret-0badf00d.tar.gz'), 'half');
  const old = new Date(NOW - 3_600_000);
  utimesSync(stale, old, old);
  utimesSync(join(root, '.tmp-20260510T110000-ret-0badf00d.tar.gz'), old, old);
  utimesSync(recent, new Date(NOW - 1000), new Date(NOW - 1000));
  const r = await sweepBundles(
    root,
    { maxAgeMs: 7 * DAY, maxCount: 100, maxBytes: 1e12, partialGraceMs: 600_000 },
    NOW,
  );
  assert.deepEqual(
    r.removed.map((x) => x.reason),
    ['stale-partial', 'stale-partial'],
  );
  assert.deepEqual(readdirSync(root).sort(), ['.partial-20260510T115959-ret-0000beef', keep, `${keep}.tar.gz`].sort());
});

test('scheduled retention sweeps at start and refuses a bad cron expression', async () => {
  const root = fresh('sched');
  await make(root, Date.now() - 10 * DAY);
  const done = new Promise<unknown>((resolve) => {
    const s = scheduleRetention(root, { maxAgeMs: 7 * DAY, maxCount: 10, maxBytes: 1e12 }, '*/10 * * * *', (r) => {
      s.stop();
      resolve(r);
    });
  });
  const r = (await done) as { removed: unknown[] };
  assert.equal(r.removed.length, 1);
  assert.throws(
    () => scheduleRetention(root, { maxAgeMs: 1, maxCount: 1, maxBytes: 1 }, 'every ten minutes'),
    (e) => hasCode(e, 'CONFIG_ERR_INVALID'),
  );
});

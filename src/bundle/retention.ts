/**
 * Retention of bundles: by age, by count and by total size (folder + tarball), oldest removed first; and
 * cleanup of what crashed runs leave behind (`.partial-*` folders, `.tmp-*` tarballs) once they are older than
 * a grace period (a capture being written right now also has a `.partial-*` folder). Run on a node-cron schedule.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import cron from 'node-cron';
import { TriplineError } from '../errors.ts';
import { listBundles } from './store.ts';

export interface RetentionPolicy {
  readonly maxAgeMs: number;
  readonly maxCount: number;
  readonly maxBytes: number;
  /** Leftovers of a write younger than this are kept (a writer may be at work). @defaultValue 10 minutes */
  readonly partialGraceMs?: number;
}

/** What a sweep removed, by reason. */
export interface SweepResult {
  readonly removed: readonly { readonly name: string; readonly reason: 'age' | 'count' | 'size' | 'stale-partial' }[];
  readonly kept: number;
  readonly bytes: number;
}

/** One retention pass over the bundles folder. */
export async function sweepBundles(root: string, policy: RetentionPolicy, nowMs = Date.now()): Promise<SweepResult> {
  const removed: { name: string; reason: 'age' | 'count' | 'size' | 'stale-partial' }[] = [];
  const grace = policy.partialGraceMs ?? 600_000;
  let names: string[] = [];
  try {
    names = await readdir(root);
  } catch {
    return { removed, kept: 0, bytes: 0 };
  }
  for (const n of names) {
    if (!n.startsWith('.partial-') && !n.startsWith('.tmp-')) continue;
    const st = await stat(join(root, n)).catch(() => null);
    if (st && nowMs - st.mtimeMs > grace) {
      await rm(join(root, n), { recursive: true, force: true });
      removed.push({ name: n, reason: 'stale-partial' });
    }
  }
  const bundles = await listBundles(root); // oldest first
  const drop = async (i: number, reason: 'age' | 'count' | 'size'): Promise<void> => {
    const b = bundles[i];
    await rm(b.dir, { recursive: true, force: true });
    await rm(join(root, `${b.id}.tar.gz`), { force: true });
    removed.push({ name: b.id, reason });
  };
  let keepFrom = 0;
  while (keepFrom < bundles.length && nowMs - Date.parse(bundles[keepFrom].tripAt) > policy.maxAgeMs)
    await drop(keepFrom++, 'age');
  while (bundles.length - keepFrom > policy.maxCount) await drop(keepFrom++, 'count');
  let total = bundles.slice(keepFrom).reduce((a, b) => a + b.bytes, 0);
  // The newest bundle is kept even when it alone exceeds max_bytes: it is the one someone is about to read.
  while (total > policy.maxBytes && bundles.length - keepFrom > 1) {
    total -= bundles[keepFrom].bytes;
    await drop(keepFrom++, 'size');
  }
  return { removed, kept: bundles.length - keepFrom, bytes: total };
}

/** Runs sweeps on a cron schedule (config.bundles.retention_schedule) and once at start. Returns a stopper. */
export function scheduleRetention(
  root: string,
  policy: RetentionPolicy,
  schedule: string,
  onResult?: (r: SweepResult | Error) => void,
): { stop(): void } {
  if (!cron.validate(schedule)) {
    throw new TriplineError(
      'CONFIG_ERR_INVALID',
      `bundles.retention_schedule: not a cron expression: ${JSON.stringify(schedule)}`,
      { hint: 'five or six cron fields, e.g. "*/10 * * * *"' },
    );
  }
  const run = (): void => {
    sweepBundles(root, policy).then(
      (r) => onResult?.(r),
      (e: Error) => onResult?.(e),
    );
  };
  const task = cron.schedule(schedule, run, { noOverlap: true, name: 'tripline-bundle-retention' });
  run();
  return {
    stop: () => {
      void task.destroy();
    },
  };
}

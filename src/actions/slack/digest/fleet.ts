/**
 * One digest per channel and period for a fleet: engines sharing a store (Redis) each merge their own part (their
 * host's digest) into the period's document under a lock, and after a gathering wait one of them posts the merged
 * digest. The document is data from the store, so it is read as hostile: validated and bounded; a damaged one is
 * replaced by the part at hand, and the log says so.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ActionLogger, ActionStore } from '../../types.ts';
import { GroupLock } from '../group-lock.ts';
import type { Digest } from './digest.ts';

/** Rows kept per list in a part and in the merged document (the message shows the first few). */
export const MAX_ROWS = { perRule: 200, perWorkload: 500, offenders: 50, suppressed: 20, why: 10, partial: 50 };
/** Hosts named in one document. */
const MAX_HOSTS = 5000;
/** Largest document read (bytes). */
const MAX_BYTES = 1024 * 1024;
const KEEP_MS = 86_400_000;

const text = z.string().max(1000);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const rows = (max: number) => z.array(z.tuple([text, count])).max(max);

/** A digest as the store holds it. */
export const DigestDocSchema = z.strictObject({
  hosts: z.array(z.string().max(253)).min(1).max(MAX_HOSTS),
  from: z.number().finite(),
  to: z.number().finite(),
  incidents: count,
  perRule: rows(MAX_ROWS.perRule),
  perWorkload: rows(MAX_ROWS.perWorkload),
  offenders: z
    .array(z.strictObject({ target: text, count, worst: z.number().finite(), unit: z.string().max(40) }))
    .max(MAX_ROWS.offenders),
  actions: z
    .array(z.strictObject({ type: z.string().max(40), delivered: count, skipped: count, failed: count }))
    .max(50),
  scaled: count,
  notScaled: count,
  verification: z.strictObject({ recovered: count, notRecovered: count, overdue: count }),
  suppressed: z
    .array(z.strictObject({ reason: z.string().max(40), count, why: z.array(text).max(MAX_ROWS.why) }))
    .max(MAX_ROWS.suppressed),
  partial: z
    .array(z.strictObject({ incident: text, rule: text, why: text, host: z.string().max(253).optional() }))
    .max(MAX_ROWS.partial),
}) satisfies z.ZodType<Digest>;

function sumRows(
  a: readonly (readonly [string, number])[],
  b: readonly (readonly [string, number])[],
  max: number,
): [string, number][] {
  const m = new Map<string, number>();
  for (const [k, v] of [...a, ...b]) m.set(k, (m.get(k) ?? 0) + v);
  return [...m].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).slice(0, max);
}

/** `d` cut to the rows a document keeps (the lists are sorted most first). */
export function bounded(d: Digest): Digest {
  return {
    ...d,
    hosts: d.hosts.slice(0, MAX_HOSTS),
    perRule: d.perRule.slice(0, MAX_ROWS.perRule),
    perWorkload: d.perWorkload.slice(0, MAX_ROWS.perWorkload),
    offenders: d.offenders.slice(0, MAX_ROWS.offenders),
    suppressed: d.suppressed.slice(0, MAX_ROWS.suppressed).map((s) => ({ ...s, why: s.why.slice(0, MAX_ROWS.why) })),
    partial: d.partial.slice(0, MAX_ROWS.partial),
  };
}

/** The digest of two sets of hosts over the same period (counts add up; lists merge, most first). */
export function mergeDigests(a: Digest, b: Digest): Digest {
  const offenders = new Map<string, Digest['offenders'][number]>();
  for (const o of [...a.offenders, ...b.offenders]) {
    const had = offenders.get(o.target);
    offenders.set(o.target, had ? { ...had, count: had.count + o.count, worst: Math.max(had.worst, o.worst) } : o);
  }
  const actions = new Map<string, Digest['actions'][number]>();
  for (const x of [...a.actions, ...b.actions]) {
    const had = actions.get(x.type);
    actions.set(
      x.type,
      had
        ? {
            type: x.type,
            delivered: had.delivered + x.delivered,
            skipped: had.skipped + x.skipped,
            failed: had.failed + x.failed,
          }
        : x,
    );
  }
  const suppressed = new Map<string, Digest['suppressed'][number]>();
  for (const s of [...a.suppressed, ...b.suppressed]) {
    const had = suppressed.get(s.reason);
    suppressed.set(
      s.reason,
      had ? { reason: s.reason, count: had.count + s.count, why: [...new Set([...had.why, ...s.why])] } : s,
    );
  }
  return bounded({
    hosts: [...new Set([...a.hosts, ...b.hosts])].sort(),
    from: Math.min(a.from, b.from),
    to: Math.max(a.to, b.to),
    incidents: a.incidents + b.incidents,
    perRule: sumRows(a.perRule, b.perRule, MAX_ROWS.perRule),
    perWorkload: sumRows(a.perWorkload, b.perWorkload, MAX_ROWS.perWorkload),
    offenders: [...offenders.values()].sort(
      (x, y) => y.count - x.count || y.worst - x.worst || x.target.localeCompare(y.target),
    ),
    actions: [...actions.values()].sort((x, y) => x.type.localeCompare(y.type)),
    scaled: a.scaled + b.scaled,
    notScaled: a.notScaled + b.notScaled,
    verification: {
      recovered: a.verification.recovered + b.verification.recovered,
      notRecovered: a.verification.notRecovered + b.verification.notRecovered,
      overdue: a.verification.overdue + b.verification.overdue,
    },
    suppressed: [...suppressed.values()].sort((x, y) => y.count - x.count),
    partial: [...a.partial, ...b.partial],
  });
}

/** The document under `key`, validated; undefined when absent; an Error saying what is wrong when damaged. */
export async function readDigestDoc(store: ActionStore, key: string): Promise<Digest | Error | undefined> {
  const raw = await store.get(key);
  if (raw === undefined) return undefined;
  if (raw.length > MAX_BYTES) return new Error(`${raw.length} bytes, more than ${MAX_BYTES}`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return new Error('not JSON');
  }
  const r = DigestDocSchema.safeParse(json);
  return r.success ? r.data : new Error(z.prettifyError(r.error).slice(0, 300));
}

/**
 * Merges `part` into the document `key` under its lock (waiting up to 30 s for the other engines); a damaged
 * document is replaced by `part`, logged.
 */
export async function contribute(
  store: ActionStore,
  key: string,
  part: Digest,
  log: ActionLogger,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<void> {
  const lock = await GroupLock.take(store, `${key}:lock`, `digest-${randomUUID()}`, {
    maxTries: 300,
    aborted: () => false,
    sleep,
  });
  try {
    const doc = await readDigestDoc(store, key);
    if (doc instanceof Error)
      log.warn({ key, err: doc.message }, 'slack digest: the stored digest is damaged; starting it again');
    const merged = doc && !(doc instanceof Error) ? mergeDigests(doc, part) : bounded(part);
    await lock.check();
    await store.set(key, JSON.stringify(merged), KEEP_MS);
  } finally {
    await lock.release();
  }
}

/**
 * Digests on node-cron: each `slack.digests` entry posts the digest of the last day (or week) to its channel at its
 * time, one message per channel and period. Where several engines share a Redis each adds its host's part to the
 * period's digest (fleet.ts) and, after a gathering wait, one of them posts the whole; a tick that finds its part
 * already given (a restart within the minute) does nothing.
 */
import cron from 'node-cron';
import type { Config } from '../../../config.ts';
import type { ActionLogger, ActionStore } from '../../types.ts';
import type { SlackMessage } from '../blocks.ts';
import type { DigestConfig } from '../settings/interactive.ts';
import type { Digest } from './digest.ts';
import { renderDigest } from './digest.ts';
import { contribute, readDigestDoc } from './fleet.ts';

const KEEP_MS = 86_400_000;

const DAYS = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } as const;

/** The node-cron expression of a digest. */
export function cronOf(d: DigestConfig): string {
  const [h, m] = d.at.split(':').map(Number);
  return `${m} ${h} * * ${d.every === 'week' ? DAYS[d.day] : '*'}`;
}

export interface DigestDeps {
  readonly config: Readonly<Config>;
  readonly log: ActionLogger;
  readonly store: ActionStore;
  /** Posts a message to a channel (the Web API, or the file sink without a token). */
  readonly post: (channel: string, message: SlackMessage) => Promise<unknown>;
  /** The digest of [from, to). */
  readonly build: (from: number, to: number) => Promise<Digest>;
  readonly now?: () => number;
  /** How long the engines' parts are gathered before one posts (ms): a minute on a shared store, 0 alone. */
  readonly gatherMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Adds this host's part to the digest of the period ending `now` and, after the gathering wait, posts the merged
 * digest unless another engine has (once per channel and period). True when this engine posted it.
 */
export async function postDigest(d: DigestConfig, deps: DigestDeps): Promise<boolean> {
  const to = (deps.now ?? Date.now)();
  const from = to - (d.every === 'week' ? 7 : 1) * 86_400_000;
  const key = `slack:digest:${d.channel}:${d.every}:${Math.floor(to / 60_000)}`;
  if (!(await deps.store.setIfAbsent(`${key}:part:${deps.config.host}`, '1', KEEP_MS))) return false;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const part = await deps.build(from, to);
  await contribute(deps.store, key, part, deps.log, sleep);
  if (deps.gatherMs > 0) await sleep(deps.gatherMs);
  if (!(await deps.store.setIfAbsent(`${key}:posted`, deps.config.host, KEEP_MS))) return false;
  const doc = await readDigestDoc(deps.store, key);
  if (doc instanceof Error || doc === undefined)
    deps.log.warn({ key, err: doc?.message ?? 'gone' }, 'slack digest: posting this host part only');
  const digest = doc instanceof Error || doc === undefined ? part : doc;
  await deps.post(d.channel, renderDigest(digest, d.every));
  deps.log.info(
    { channel: d.channel, every: d.every, incidents: digest.incidents, hosts: digest.hosts.length },
    'slack digest posted',
  );
  return true;
}

/** Schedules every configured digest; returns a stop function. */
export function scheduleDigests(deps: DigestDeps): () => void {
  const list = deps.config.slack.digests;
  if (list.length === 0) return () => {};
  const tasks = list.map((d) =>
    cron.schedule(
      cronOf(d),
      () => {
        postDigest(d, deps).catch((err) =>
          deps.log.error({ channel: d.channel, err: (err as Error)?.message }, 'slack digest failed'),
        );
      },
      d.timezone ? { timezone: d.timezone } : {},
    ),
  );
  return () => {
    for (const t of tasks) void t.stop();
  };
}

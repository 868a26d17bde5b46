/**
 * Digests on node-cron: each `slack.digests` entry posts the digest of the last day (or week) to its channel at its
 * time. Where several engines share a Redis each posts its own (the digest names its host); a tick that finds its
 * period already posted by this host (a restart within the minute) does nothing.
 */
import cron from 'node-cron';
import type { Config } from '../../../config.ts';
import type { ActionLogger, ActionStore } from '../../types.ts';
import type { SlackMessage } from '../blocks.ts';
import type { DigestConfig } from '../settings/interactive.ts';
import type { Digest } from './digest.ts';
import { renderDigest } from './digest.ts';

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
}

/** Posts one digest for the period ending `now` (once per host, channel and period). */
export async function postDigest(d: DigestConfig, deps: DigestDeps): Promise<boolean> {
  const to = (deps.now ?? Date.now)();
  const from = to - (d.every === 'week' ? 7 : 1) * 86_400_000;
  const period = Math.floor(to / 60_000);
  const mark = `slack:digest:${deps.config.host}:${d.channel}:${d.every}:${period}`;
  if (!(await deps.store.setIfAbsent(mark, '1', 86_400_000))) return false;
  const digest = await deps.build(from, to);
  await deps.post(d.channel, renderDigest(digest, d.every));
  deps.log.info({ channel: d.channel, every: d.every, incidents: digest.incidents }, 'slack digest posted');
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

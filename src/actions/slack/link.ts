/**
 * Slack on the network side beyond the action: the Socket Mode link for clicks (interactive/service.ts) and the
 * digests (digest/). The network side starts it after its queue and feeds it each settled job.
 */
import { Counter, type Registry } from 'prom-client';
import type { IncidentRecord } from '../../incident-log.ts';
import type { JobSettled } from '../queue.ts';
import { buildDigest } from './digest/digest.ts';
import { DigestLedger } from './digest/ledger.ts';
import { scheduleDigests } from './digest/schedule.ts';
import { defaultTransport } from './index.ts';
import type { RequestedReport } from './interactive/capture.ts';
import { startInteractivity, type Interactivity, type InteractivityOptions } from './interactive/service.ts';

/** The click link's options (minus its test-only timings), plus what the digests read. */
export interface SlackLinkOptions extends Omit<InteractivityOptions, 'mailboxMs' | 'silenceSyncMs' | 'now'> {
  readonly incidents: () => readonly IncidentRecord[];
  /** Where `<prefix>slack_clicks_total{result}` is registered. */
  readonly metricsRegistry?: Registry;
}

export class SlackLink {
  readonly ledger = new DigestLedger();
  interactivity?: Interactivity;
  #stopDigests: () => void = () => {};

  /** Starts the click link (with an app token) and the digests (when configured). */
  async start(o: SlackLinkOptions): Promise<this> {
    const clicks = o.metricsRegistry
      ? new Counter({
          name: `${o.config.metrics.prefix}slack_clicks_total`,
          help: 'Slack button clicks by what became of them (silenced, approved, not-allowed, duplicate, failed, ...).',
          labelNames: ['result'],
          registers: [o.metricsRegistry],
        })
      : undefined;
    this.interactivity = await startInteractivity({
      ...o,
      onClick: (r) => {
        clicks?.inc({ result: r });
        o.onClick?.(r);
      },
    });
    this.#stopDigests = scheduleDigests({
      config: o.config,
      log: o.log,
      store: o.store,
      gatherMs: o.config.redis.url ? 60_000 : 0,
      post: (channel, message) => defaultTransport(o.config, o.env, false).post(channel, message),
      build: async (from, to) =>
        buildDigest(o.config.host, o.incidents(), this.ledger.entries(), await o.silences.suppressed(), from, to),
    });
    return this;
  }

  /** A report of a requested capture (a click's bundle goes to its thread). */
  async requested(r: RequestedReport): Promise<void> {
    await this.interactivity?.report(r);
  }

  /** Records a settled job for the digests. */
  settled(s: JobSettled): void {
    this.ledger.add(s, Date.now());
  }

  async stop(): Promise<void> {
    this.#stopDigests();
    await this.interactivity?.stop();
  }
}

/**
 * Slack on the network side beyond the action: the Socket Mode link for clicks (interactive/service.ts) and the
 * digests (digest/). The network side starts it after its queue and feeds it each settled job.
 */
import { Counter, type Registry } from 'prom-client';
import type { Config } from '../../config.ts';
import type { IncidentRecord } from '../../incident-log.ts';
import type { SilenceService } from '../../rules/silence-service.ts';
import type { JobSettled } from '../queue.ts';
import type { ActionJobInput, ActionLogger, ActionStore } from '../types.ts';
import { buildDigest } from './digest/digest.ts';
import { DigestLedger } from './digest/ledger.ts';
import { scheduleDigests } from './digest/schedule.ts';
import { defaultTransport } from './index.ts';
import type { CaptureChannel, RequestedReport } from './interactive/capture.ts';
import type { ClickResult } from './interactive/clicks.ts';
import { startInteractivity, type Interactivity } from './interactive/service.ts';

export interface SlackLinkOptions {
  readonly config: Readonly<Config>;
  readonly env: NodeJS.ProcessEnv;
  readonly log: ActionLogger;
  readonly store: ActionStore;
  readonly silences: SilenceService;
  readonly enqueue: (input: ActionJobInput) => Promise<unknown>;
  readonly incidents: () => readonly IncidentRecord[];
  readonly captures?: CaptureChannel;
  readonly onClick?: (r: ClickResult) => void;
  readonly pingTimeoutMs?: number;
  /** The current capture duration of a rule (ms), for Capture again. */
  readonly captureMsOf?: (rule: string) => number | undefined;
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

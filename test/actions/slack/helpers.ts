/** Builders for Slack action tests: incidents, bundles (with a real tarball file), configs and an action context. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildConfig } from '../../../src/config.ts';
import type { Config } from '../../../src/config.ts';
import { incidentKey } from '../../../src/incident.ts';
import type { Incident } from '../../../src/incident.ts';
import type { BundleRef } from '../../../src/bundle/types.ts';
import type { SlackActionSpec } from '../../../src/actions/slack/spec.ts';
import { MemoryStore } from '../../../src/actions/store-memory.ts';
import type {
  ActionContext,
  ActionEvent,
  ActionJob,
  ActionStore,
  EventDetail,
  ScheduledEvent,
} from '../../../src/actions/types.ts';
import { tempDir } from '../../support/cleanups.ts';

/** A firing incident of `cpu-throttling` for `pod`, fired at `at` (ms). */
export function incident(pod: string, at: number, over: Partial<Incident> = {}): Incident {
  const labels = { namespace: 'shop', pod, ...(over.labels ?? {}) };
  const key = incidentKey(over.rule ?? 'cpu-throttling', labels);
  return {
    id: `${key.length}-${at}`,
    key,
    rule: 'cpu-throttling',
    status: 'firing',
    severity: 'critical',
    labels,
    annotations: { summary: `pod ${pod} throttled` },
    target: {
      cgroupPath: `/kubepods/burstable/pod-${pod}/c1`,
      pod: { uid: `uid-${pod}`, name: pod, namespace: 'shop' },
      container: 'app',
      workload: 'Deployment/web',
    },
    value: 0.84,
    threshold: 0.25,
    unit: 'ratio',
    stats: {},
    startsAt: new Date(at - 60_000).toISOString(),
    firedAt: new Date(at).toISOString(),
    host: 'node-a',
    ...over,
  };
}

/** The resolved form of an incident, at `at` (ms). */
export function resolved(i: Incident, at: number): Incident {
  return { ...i, status: 'resolved', resolvedAt: new Date(at).toISOString() };
}

/** The bundles folder of the configs below: actions upload only tarballs inside it. */
export const BUNDLES_DIR = tempDir('bundles');

/** A bundle whose tarball is a real file of `bytes` bytes in the test bundles folder. */
export function bundle(id = '20261125T140000-cpu-throttling-0badc0de', bytes = 2048): BundleRef {
  const dir = mkdtempSync(join(BUNDLES_DIR, 'b-'));
  const tarball = join(dir, `${id}.tar.gz`);
  writeFileSync(tarball, Buffer.alloc(bytes, 7));
  return {
    id,
    dir,
    tarball,
    partial: false,
    findings: {
      diagnosis: {
        cause: 'limit-bound',
        summary: 'throttled in 84% of CFS periods while using 1.0 of its 1.0-core quota',
        evidence: { throttled_ratio: 0.84 },
      },
      headlines: ['web-1 used its whole CPU quota in 84% of periods', 'top on-CPU stack: json_encode (41%)'],
      neighbours: [],
      topOnCpu: [],
      topOffCpu: [],
      slowSyscalls: [],
      slowQueries: [],
      shifts: {},
    },
  };
}

/** A config for tests: grouping windows and the outbox given, everything else default. */
export function config(slack: Record<string, unknown> = {}, dataDir?: string): Readonly<Config> {
  return buildConfig(
    {
      // The host of the fixture incidents: their bundles are this engine's.
      host: 'node-a',
      data_dir: dataDir ?? tempDir('data'),
      slack: { channel: 'C0OPS', group_wait: '0s', ...slack },
      bundles: { dir: BUNDLES_DIR },
    },
    {},
  );
}

/** A job as the queue would hand it. */
export function job(
  i: Incident,
  event: ActionEvent = 'firing',
  over: Partial<ActionJob<SlackActionSpec>> = {},
): ActionJob<SlackActionSpec> {
  const spec: SlackActionSpec = { type: 'slack' };
  return {
    id: `${i.key}|slack|${event}|${over.seq ?? ''}|${i.id}`,
    event,
    incident: i,
    spec,
    index: 0,
    actions: [spec],
    enqueuedAt: 0,
    ...over,
  };
}

/** A mutable clock for grouping tests. */
export class Clock {
  t: number;
  constructor(t = Date.parse('2026-11-25T14:00:00Z')) {
    this.t = t;
  }
  now = (): number => this.t;
}

/** A job an action scheduled for itself (ctx.schedule). */
export interface Scheduled {
  readonly event: ScheduledEvent;
  readonly notBefore: number;
  readonly detail?: EventDetail;
  readonly seq?: string;
}

/**
 * An ActionContext over a store and clock; `notified` records what the action asked the queue to send its siblings,
 * `scheduled` what it scheduled for itself.
 */
export function context(
  cfg: Readonly<Config>,
  env: NodeJS.ProcessEnv,
  clock: Clock,
  store: ActionStore = new MemoryStore(clock.now),
): ActionContext & { notified: { event: ActionEvent; detail?: EventDetail }[]; scheduled: Scheduled[] } {
  const notified: { event: ActionEvent; detail?: EventDetail }[] = [];
  const scheduled: Scheduled[] = [];
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  return {
    config: cfg,
    env,
    log: quiet,
    store,
    attempt: 1,
    signal: new AbortController().signal,
    now: clock.now,
    notified,
    scheduled,
    async notify(event, detail) {
      notified.push({ event, detail });
      return [`n${notified.length}`];
    },
    async schedule(event, notBefore, detail, seq) {
      scheduled.push({ event, notBefore, detail, seq });
      return `s${scheduled.length}`;
    },
  };
}

/**
 * An engine without a kernel, for the pipeline and rule runtime tests: the scripted counter family as its only
 * family (`noBpf`), a fake deep probe, a recording `log` action on the in-process queue, rules from a temp
 * folder through the real loader, the HTTP server on 127.0.0.1 port 0. Records every engine event.
 */
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig } from '../../src/config.ts';
import { Engine, type CaptureEvent, type JobSettled, type ReloadEvent } from '../../src/engine.ts';
import type { Incident } from '../../src/incident.ts';
import { createLogger } from '../../src/log.ts';
import type { DeepProbe, ProbeTarget } from '../../src/probes/deep/types.ts';
import type { Action, ActionJob } from '../../src/actions/types.ts';
import { logAction, type LogActionSpec } from '../../src/actions/log.ts';
import { counterReading, ScriptedCounters } from './scripted-counters.ts';

/** The cgroup id the scripted series carry (unknown to the host's resolver, so its other labels are ""). */
export const CGROUP_ID = '4242';
/** The scripted engine's `host` (its series are not pod-level, so their incident keys carry it). */
export const SCRIPTED_HOST = 'scripted-node';

/**
 * A rule on the scripted series: cpu_throttled_periods faster than 10/s over 1 s trips at once, resolves at once,
 * captures with `offcpu` (the fake probe) for `captureMs`, and runs one `log` action.
 */
export function throttleRule(name: string, opts: { captureMs?: number; signal?: string } = {}): string {
  return `apiVersion: tripline.dev/v1
kind: Rule
metadata:
  name: ${name}
spec:
  severity: warning
  group_by: [cgroup_id]
  when:
    signal: ${opts.signal ?? 'cpu_throttled_periods'}
    stat: rate
    window: 1s
    above: 10/s
  for: 0s
  keep_firing_for: 0s
  cooldown: 0s
  max_trips_per_hour: 100
  capture:
    probes: [offcpu]
    duration: ${opts.captureMs ?? 200}ms
  actions:
    - type: log
`;
}

/** A fake deep probe (registered as `offcpu`): records each target it attached to; its result has no events. */
export function fakeProbe(): DeepProbe & { readonly targets: ProbeTarget[] } {
  const targets: ProbeTarget[] = [];
  return {
    name: 'offcpu',
    description: 'test probe: attaches nothing',
    targets,
    prepare: () => ({
      close() {},
      start(target) {
        targets.push(target);
        const startedAt = Date.now();
        return {
          stop: async (o = {}) => ({
            probe: 'offcpu',
            startedAt,
            endedAt: Date.now(),
            partial: o.partial === true,
            events: 0,
            dropped: 0,
            errors: [],
            summary: {},
            redactions: [],
          }),
        };
      },
    }),
  };
}

/** Polls `pred` every 20 ms; rejects naming `what` after `ms`. */
export async function waitFor(what: string, ms: number, pred: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A started engine on scripted counters, and what it did. */
export class ScriptedEngine {
  readonly dir: string;
  readonly rulesDir: string;
  readonly family = new ScriptedCounters('cpustat');
  readonly probe = fakeProbe();
  /** Jobs the recording `log` action ran, in order. */
  readonly executed: ActionJob<LogActionSpec>[] = [];
  readonly incidents: Incident[] = [];
  readonly captures: CaptureEvent[] = [];
  readonly actions: JobSettled[] = [];
  readonly reloads: ReloadEvent[] = [];
  engine?: Engine;
  /** Whether the scripted series climbs (100 throttled periods a tick) or stays flat. */
  hot = false;
  #total = 0;

  /** `dir`: reuse a folder (a restart); otherwise a new temp folder. */
  constructor(dir?: string) {
    this.dir = dir ?? mkdtempSync(join(tmpdir(), 'tripline-engine-'));
    this.rulesDir = join(this.dir, 'rules');
    mkdirSync(this.rulesDir, { recursive: true });
    this.family.then(() => {
      if (this.hot) this.#total += 100;
      return [counterReading('cpu_throttled_periods', { cgroup_id: CGROUP_ID }, this.#total)];
    });
  }

  /** Writes (or replaces) one rule file. */
  writeRule(file: string, yaml: string): void {
    writeFileSync(join(this.rulesDir, file), yaml);
  }

  /** Starts the engine (100 ms ticks, in-process queue, state in the folder's data/). */
  async start(): Promise<Engine> {
    const config = buildConfig(
      {
        listen: '127.0.0.1:0',
        host: SCRIPTED_HOST,
        data_dir: join(this.dir, 'data'),
        rules: [this.rulesDir],
        sampler: { tick: '100ms', history: '1m' },
        counters: { enabled: ['cpustat'] },
      },
      {},
    );
    const record: Action<LogActionSpec> = {
      ...logAction,
      execute: async (job) => {
        this.executed.push(job);
        return { status: 'delivered', summary: `recorded ${job.event}` };
      },
    };
    const engine = new Engine({
      config,
      log: createLogger('debug', createWriteStream(join(this.dir, 'engine.log'), { flags: 'a' })),
      noBpf: true,
      counters: this.family.registry,
      deepProbes: { offcpu: this.probe },
      actions: { log: record },
      watchRules: false,
    });
    engine.on('incident', (i) => this.incidents.push(i));
    engine.on('capture', (c) => this.captures.push(c));
    engine.on('action', (s) => this.actions.push(s));
    engine.on('reload', (r) => this.reloads.push(r));
    this.engine = engine;
    await engine.start();
    return engine;
  }

  /** Stops the engine; `keep` leaves the folder for a restart. */
  async stop(keep = false): Promise<void> {
    await this.engine?.stop();
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
  }
}

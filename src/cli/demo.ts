/**
 * `tripline demo [--scenario limit|neighbour]`: the whole loop on this host in about a minute. Makes a real
 * workload (src/demo/workload.ts), runs the engine with the bundled throttling rule (demo timings), shows the
 * counters, the rule's state, the capture, the bundle, the Slack message and the scale decision, stops the load,
 * waits for the resolve, then removes every cgroup and process it made (also on Ctrl-C).
 */
import { mkdtempSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig } from '../config.ts';
import { Engine, type CaptureEvent } from '../engine.ts';
import { RULES_DIR } from '../paths.ts';
import { TriplineError } from '../errors.ts';
import type { Incident } from '../incident.ts';
import { createLogger } from '../log.ts';
import { checkHost } from '../probes/host-checks.ts';
import type { Tick } from '../samples.ts';
import { startWorkload, type Scenario, type Workload } from '../demo/workload.ts';
import { DEMO_TIMINGS, writeDemoRule } from '../demo/rule.ts';
import { newMessages } from '../demo/slack-text.ts';
import { loadRuleSet } from '../rules/load.ts';
import { groupOf } from '../rules/evaluate/groups.ts';
import type { Rule } from '../rules/types.ts';
import { parseFlags } from './args.ts';
import { ACTIONS } from '../actions/registry.ts';

const USAGE = 'tripline demo [--scenario limit|neighbour] [--timeout 120s]';

export async function main(argv: string[]): Promise<number> {
  let flags;
  try {
    flags = parseFlags(
      argv,
      { scenario: { type: 'string', default: 'limit' }, timeout: { type: 'string', default: '120' } },
      USAGE,
    ).values;
  } catch (err) {
    process.stderr.write(`tripline demo: ${(err as TriplineError).describe()}\n`);
    return 2;
  }
  const scenario = flags.scenario as Scenario;
  if (scenario !== 'limit' && scenario !== 'neighbour') {
    process.stderr.write(`tripline demo: unknown scenario ${JSON.stringify(flags.scenario)} (usage: ${USAGE})\n`);
    return 2;
  }
  const timeoutS = Number.parseInt(String(flags.timeout), 10);
  const failed = checkHost().filter((c) => c.required && !c.ok);
  if (failed.length) {
    for (const c of failed)
      process.stderr.write(`tripline demo: ${c.name}: ${c.detail}${c.fix ? ` (fix: ${c.fix})` : ''}\n`);
    return 1;
  }
  const say = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const t0 = Date.now();
  const at = (): string => `[${String(Math.round((Date.now() - t0) / 1000)).padStart(3)}s]`;

  const dir = mkdtempSync(join(tmpdir(), 'tripline-demo-'));
  const tag = String(process.pid);
  const ruleFile = writeDemoRule(join(RULES_DIR, 'cpu-throttling.yaml'), join(dir, 'rules'), `/tripline-demo-${tag}-`);
  // The rule the engine runs, read back from the demo's copy: its name and group_by make the key the demo follows.
  const rule = loadRuleSet([ruleFile], { tests: false, actions: ACTIONS }).ruleSet.rules[0];
  const config = buildConfig(
    {
      listen: '127.0.0.1:0',
      data_dir: join(dir, 'data'),
      rules: [join(dir, 'rules')],
      sampler: { tick: '1s', history: '2m' },
      capture: { duration: DEMO_TIMINGS.capture },
      slack: { group_wait: '1s', group_interval: '10s' },
      log: { level: 'info' },
    },
    { ...process.env, REDIS_URL: '' },
  );
  const log = createLogger('info', createWriteStream(join(dir, 'engine.log')));
  const engine = new Engine({ config, log, watchRules: false });

  say(`tripline demo (${scenario}): everything it makes lives under ${dir}; engine log: ${join(dir, 'engine.log')}`);
  say(
    `rule: ${rule.name} from rules/cpu-throttling.yaml with demo timings (window ${DEMO_TIMINGS.window}, for ${DEMO_TIMINGS.for}, capture ${DEMO_TIMINGS.capture}); copy at ${ruleFile}`,
  );
  const slackMode =
    process.env.SLACK_BOT_TOKEN && process.env.SLACK_CHANNEL
      ? `Slack channel ${process.env.SLACK_CHANNEL}`
      : `the file sink ${join(dir, 'data', 'slack-outbox')} (set SLACK_BOT_TOKEN and SLACK_CHANNEL to post to Slack)`;
  say(`messages go to ${slackMode}; the scale action runs in dry run`);

  let workload: Workload | undefined;
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    workload?.cleanup();
    await engine.stop().catch(() => undefined);
  };
  const onSignal = (): void => {
    say(`${at()} interrupted: cleaning up`);
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    await engine.start();
    workload = startWorkload(scenario, tag);
    const w = workload;
    say(
      `${at()} workload: ${
        scenario === 'limit'
          ? `cgroup ${w.target.path} with a CPU quota of 0.2 cores and 2 busy loops (pids ${w.pids.join(', ')})`
          : `cgroup ${w.target.path} without quota (2 demo-app-worker loops) and ${w.neighbour!.path} with 10x its CPU weight (demo-batch-job), all pinned to CPU 0 (pids ${w.pids.join(', ')})`
      }`,
    );
    const result = await runLoop(
      engine,
      rule,
      w,
      say,
      at,
      timeoutS * 1000,
      process.env.SLACK_BOT_TOKEN ? undefined : join(dir, 'data', 'slack-outbox'),
    );
    say('');
    say(result.ok ? `demo complete in ${Math.round((Date.now() - t0) / 1000)}s` : `demo incomplete: ${result.why}`);
    return result.ok ? 0 : 1;
  } catch (err) {
    process.stderr.write(
      `tripline demo: ${err instanceof TriplineError ? err.describe() : String((err as Error)?.stack ?? err)}\n`,
    );
    return 1;
  } finally {
    await cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    say(`cleaned up: cgroups removed, processes stopped, probes detached (bundle and messages kept under ${dir})`);
  }
}

/** Follows the engine's events until the incident fired, was captured, delivered, and resolved. */
function runLoop(
  engine: Engine,
  rule: Rule,
  w: Workload,
  say: (l: string) => void,
  at: () => string,
  timeoutMs: number,
  outbox: string | undefined,
): Promise<{ ok: boolean; why?: string }> {
  const shown = new Set<string>();
  return new Promise((done) => {
    const state = {
      firing: undefined as Incident | undefined,
      captured: false,
      firingActions: 0,
      resolved: false,
      resolvedActions: 0,
      ticks: 0,
      loadStopped: false,
    };
    // The incident key of the workload's series: the rule's group_by labels of the target cgroup's samples (known
    // from its first sampled tick), then the key of the incident that fired for it.
    let key: string | undefined;
    const expectedActions = 2;
    const timer = setTimeout(
      () => done({ ok: false, why: `timed out after ${timeoutMs / 1000}s (${describe()})` }),
      timeoutMs,
    );
    const finish = (r: { ok: boolean; why?: string }): void => {
      clearTimeout(timer);
      done(r);
    };
    const describe = (): string =>
      `fired: ${Boolean(state.firing)}, captured: ${state.captured}, actions: ${state.firingActions}/${expectedActions}, resolved: ${state.resolved}`;

    engine.on('tick', (t) => {
      key ??= targetKey(t, rule, w.target.id, engine.config.host);
      if (state.resolved || ++state.ticks % 2) return;
      const d = deltas(t, w.target.id);
      const phase = (key && engine.seriesPhase(rule.name, key)) || 'inactive';
      say(
        `${at()} ${w.target.path}: scheduled out >5ms ${d.over.toFixed(0)}/s · run-queue wait ${(d.waitShare * 100).toFixed(0)}% · throttled in ${d.periods ? Math.round((100 * d.throttled) / d.periods) : 0}% of CFS periods · rule ${phase}`,
      );
    });
    engine.on('incident', (inc) => {
      if (inc.rule !== rule.name) return;
      if (inc.status === 'firing' && !state.firing && (inc.key === key || inc.target.cgroupId === w.target.id)) {
        state.firing = inc;
        key = inc.key;
        say(`${at()} FIRING ${inc.rule} [${inc.severity}]: ${inc.annotations.summary ?? ''}`);
      } else if (inc.status === 'resolved' && inc.key === key) {
        state.resolved = true;
        say(`${at()} RESOLVED ${inc.rule}: the load stopped`);
      }
    });
    engine.on('capture', (e: CaptureEvent) => {
      if (e.phase === 'started') say(`${at()} capture: attaching ${e.probes.join(', ')} to ${w.target.path}`);
      else if (e.phase === 'attached')
        say(`${at()} capture: attached ${e.attached.join(', ')} ${Math.round(e.tripToAttachMs)} ms after the trip`);
      else if (e.phase === 'failed') {
        state.captured = true;
        say(`${at()} capture failed: ${e.error instanceof Error ? e.error.message : String(e.error)}`);
      } else {
        state.captured = true;
        say(`${at()} bundle: ${e.dir}`);
        const dg = e.findings.diagnosis;
        if (dg)
          say(
            `       ${dg.lead ?? `${dg.cause}: ${dg.summary}`}${dg.advice ? `\n       what to do: ${dg.advice}` : ''}`,
          );
        for (const h of e.findings.headlines.filter((h) => h !== dg?.lead).slice(0, 4)) say(`       • ${h}`);
      }
    });
    engine.on('action', (s) => {
      if (s.job.incident.key !== key) return;
      const type = s.job.spec.type;
      if (s.state === 'failed') say(`${at()} ${type} (${s.job.event}) failed: ${s.reason}`);
      else {
        say(`${at()} ${type} (${s.job.event}): ${s.summary}`);
        if (type === 'slack' && outbox)
          for (const line of newMessages(outbox, shown).slice(0, 40)) say(`       │ ${line}`);
      }
      if (s.job.event === 'firing') state.firingActions++;
      if (s.job.event === 'resolved' && type === 'slack') state.resolvedActions++;
      if (state.firingActions >= expectedActions && state.captured && !state.loadStopped) {
        state.loadStopped = true;
        say(
          `${at()} stopping the workload; the rule resolves after ${DEMO_TIMINGS.keep_firing_for} below its thresholds`,
        );
        w.stopLoad();
      }
      if (state.resolved && state.resolvedActions > 0) finish({ ok: true });
    });
  });
}

/** The incident key of the target cgroup's series under the rule, from the first of its samples in a tick. */
function targetKey(t: Tick, rule: Rule, cgroupId: string, host: string): string | undefined {
  const s = t.samples.find((x) => x.labels.cgroup_id === cgroupId);
  return s && groupOf(rule, s.labels, host).key;
}

/** Per-second values of the target cgroup in one tick. */
function deltas(t: Tick, cgroupId: string): { over: number; throttled: number; periods: number; waitShare: number } {
  const sec = t.intervalMs / 1000 || 1;
  let over = 0,
    throttled = 0,
    periods = 0,
    wait = 0;
  for (const s of t.samples) {
    if (s.labels.cgroup_id !== cgroupId) continue;
    if (s.kind === 'counter' && s.signal === 'runq_delay_over_threshold') over += s.delta;
    else if (s.kind === 'counter' && s.signal === 'cpu_throttled_periods') throttled += s.delta;
    else if (s.kind === 'counter' && s.signal === 'cpu_periods') periods += s.delta;
    else if (s.kind === 'histogram' && s.signal === 'runq_delay_seconds') wait += s.sumDelta;
  }
  return { over: over / sec, throttled, periods, waitShare: Math.min(1, wait / sec) };
}

/**
 * End to end: `tripline run` on the real kernel survives SIGHUP with a broken rule file (the reload is rejected and
 * reported, the old rule keeps firing), and stops on SIGTERM in the middle of a capture with the bundle written and
 * marked partial, and no BPF program left loaded.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { kernelTest } from '../support/kernel.ts';
import { apiGet } from '../support/api.ts';
import { parseProm } from '../support/prom-parse.ts';
import {
  HeldProgramsWatch,
  loadedPrograms,
  orphanedTriplinePrograms,
  stillLoaded,
  triplineProgramNames,
} from '../support/bpf-programs.ts';
import { writeDemoRule } from '../../src/demo/rule.ts';
import { startWorkload, type Workload } from '../../src/demo/workload.ts';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'tripline');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What `GET /api/incidents` returns per incident (the fields these tests read). */
interface IncidentRecord {
  id: string;
  key: string;
  rule: string;
  status: string;
  capture: string;
  bundle?: { dir: string; partial: boolean };
}

/** A `tripline run` child with its address, log (stderr, JSON lines) and exit. */
interface Run {
  readonly child: ChildProcess;
  readonly base: string;
  /** The engine's data_dir (its API token is there). */
  readonly dataDir: string;
  stderr(): string;
  readonly exited: Promise<number | string>;
}

/** A temp folder with a config and a copy of the bundled throttling rule scoped to `/tripline-demo-<tag>-`. */
function setup(captureDuration?: string): { dir: string; rulesDir: string; config: string; tag: string } {
  const dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-signals-`));
  const tag = `e2e${process.pid}x${Math.random().toString(36).slice(2, 8)}`;
  const rulesDir = join(dir, 'rules');
  const ruleFile = writeDemoRule(join(root, 'rules', 'cpu-throttling.yaml'), rulesDir, `/tripline-demo-${tag}-`);
  if (captureDuration) {
    const doc = parseDocument(readFileSync(ruleFile, 'utf8'));
    doc.setIn(['spec', 'capture', 'duration'], captureDuration);
    writeFileSync(ruleFile, doc.toString());
  }
  const config = join(dir, 'tripline.yaml');
  // JSON is YAML: one line each, no quoting surprises in temp paths.
  writeFileSync(
    config,
    JSON.stringify({
      listen: '127.0.0.1:0',
      data_dir: join(dir, 'data'),
      rules: [rulesDir],
      sampler: { tick: '1s', history: '2m' },
      slack: { group_wait: '1s', group_interval: '10s' },
      log: { level: 'info' },
    }),
  );
  return { dir, rulesDir, config, tag };
}

/** Starts `tripline run --config FILE` (no Redis, no Slack token, no Kubernetes) and waits for its listen address. */
async function startRun(config: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(TRIPLINE_|SLACK_|KUBE|REDIS_URL$)/.test(k)) env[k] = v;
  const child = spawn(bin, ['run', '--config', config], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const deadline = Date.now() + 90_000;
  for (;;) {
    const port = /"listen":"[^"]*:(\d+)"/.exec(err)?.[1];
    if (port) {
      const base = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 100 && (await fetch(`${base}/readyz`)).status !== 200; i++) await sleep(300);
      return { child, base, dataDir: join(dirname(config), 'data'), stderr: () => err, exited };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`tripline run did not start (exit ${child.exitCode}):\n${err}`);
    }
    await sleep(200);
  }
}

/** Value of an unlabelled sample on /metrics. */
async function metric(base: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${base}/metrics`)).text();
  for (const f of parseProm(text).values()) for (const s of f.samples) if (s.name === name) return s.value;
  return undefined;
}

/** Polls /api/incidents until an incident of `cgroup` satisfies `ok`. */
async function waitIncident(
  run: Run,
  cgroup: string,
  ok: (r: IncidentRecord) => boolean,
  timeoutMs: number,
  what: string,
): Promise<IncidentRecord> {
  const deadline = Date.now() + timeoutMs;
  let seen: IncidentRecord[] = [];
  while (Date.now() < deadline) {
    seen = ((await (await apiGet(run.base, '/api/incidents', run.dataDir)).json()) as { incidents: IncidentRecord[] })
      .incidents;
    const r = seen.find((i) => i.rule === 'cpu-throttling' && i.key.includes(`cgroup="${cgroup}"`) && ok(i));
    if (r) return r;
    await sleep(500);
  }
  throw new Error(`no incident ${what} for ${cgroup} within ${timeoutMs / 1000}s; incidents: ${JSON.stringify(seen)}`);
}

/** Log lines (pino JSON) of a run. */
function logLines(run: Run): Record<string, unknown>[] {
  return run
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
}

/** Sends SIGTERM (if still running) and waits for the exit, then SIGKILL as a last resort. */
async function stopRun(run: Run): Promise<number | string> {
  if (run.child.exitCode !== null || run.child.signalCode !== null) return run.exited;
  run.child.kill('SIGTERM');
  const code = await Promise.race([run.exited, sleep(60_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') {
    run.child.kill('SIGKILL');
    await run.exited;
  }
  return code;
}

kernelTest(
  'tripline run survives SIGHUP with a broken rule file: reload rejected and reported, the old rule still fires',
  async () => {
    const { dir, rulesDir, config, tag } = setup();
    let run: Run | undefined;
    let workload: Workload | undefined;
    try {
      run = await startRun(config);
      assert.equal(await metric(run.base, 'tripline_rules_loaded'), 1);
      assert.equal(await metric(run.base, 'tripline_rules_last_reload_success'), 1);

      // The unknown key `fore` is on line 13, column 3.
      const broken = join(rulesDir, 'broken.yaml');
      writeFileSync(
        broken,
        'apiVersion: tripline.dev/v1\nkind: Rule\nmetadata:\n  name: broken\nspec:\n  severity: warning\n  when:\n    signal: runq_delay_over_threshold\n    stat: rate\n    window: 10s\n    above: 20/s\n  for: 5s\n  fore: 5s\n',
      );
      await sleep(1500); // the rules folder is also watched: let that reload (if any) happen before counting
      const failuresBefore = (await metric(run.base, 'tripline_rules_reload_failures_total')) ?? 0;
      run.child.kill('SIGHUP');
      let failures = failuresBefore;
      for (let i = 0; i < 60 && failures <= failuresBefore; i++) {
        await sleep(250);
        failures = (await metric(run.base, 'tripline_rules_reload_failures_total')) ?? 0;
      }
      assert.ok(
        failures > failuresBefore && failures >= 1,
        `SIGHUP reloaded and the reload failed (failures ${failuresBefore} → ${failures})`,
      );
      assert.equal(run.child.exitCode, null, 'the engine survives SIGHUP');
      assert.equal(run.child.signalCode, null);
      assert.equal(await metric(run.base, 'tripline_rules_last_reload_success'), 0);
      assert.equal(await metric(run.base, 'tripline_rules_loaded'), 1, 'the previous rule set keeps running');
      const rejected = logLines(run).filter((l) => /rule reload rejected/.test(String(l.msg)));
      assert.ok(rejected.length >= 1, `the rejection is logged:\n${run.stderr().slice(-3000)}`);
      // The rejection names each error (file:line:column: path: what), as `err` or in `errors`.
      const said = [rejected.at(-1)!.err, ...((rejected.at(-1)!.errors as unknown[] | undefined) ?? [])]
        .filter(Boolean)
        .join('\n');
      assert.match(said, new RegExp(`${broken.replace(/[.]/g, '\\.')}:13:3: spec\\.fore: unknown key "fore"`));

      workload = startWorkload('limit', tag);
      const inc = await waitIncident(run, workload.target.path, (r) => r.status === 'firing', 150_000, 'firing');
      assert.equal(inc.rule, 'cpu-throttling');
      assert.equal(await metric(run.base, 'tripline_rules_last_reload_success'), 0, 'no reload happened meanwhile');
      workload.cleanup();
      assert.equal(await stopRun(run), 0, `graceful stop exits 0:\n${run.stderr().slice(-3000)}`);
    } finally {
      workload?.cleanup();
      if (run) await stopRun(run);
      rmSync(dir, { recursive: true, force: true });
    }
  },
  { timeout: 240_000 },
);

kernelTest(
  'tripline run stopped by SIGTERM mid-capture: exits 0, bundle written and marked partial, no BPF program left',
  async () => {
    const { dir, config, tag } = setup('60s');
    const before = new Set(loadedPrograms().keys());
    let run: Run | undefined;
    let watch: HeldProgramsWatch | undefined;
    let workload: Workload | undefined;
    try {
      run = await startRun(config);
      watch = new HeldProgramsWatch(run.child.pid!);
      workload = startWorkload('limit', tag);
      const cgroup = workload.target.path;
      const inc = await waitIncident(run, cgroup, (r) => r.capture === 'running', 150_000, 'with a running capture');
      await sleep(3000); // the probes attach within milliseconds of the trip; the capture's time box is 60 s
      const still = await waitIncident(run, cgroup, (r) => r.id === inc.id, 5_000, 'again');
      assert.equal(still.capture, 'running', 'the capture is still running when SIGTERM is sent');
      watch.sample();

      const sentAt = Date.now();
      run.child.kill('SIGTERM');
      const code = await Promise.race([run.exited, sleep(60_000).then(() => 'still running after 60 s')]);
      const stopMs = Date.now() - sentAt;
      watch.stop();
      assert.equal(code, 0, `SIGTERM exits 0:\n${run.stderr().slice(-3000)}`);
      assert.ok(stopMs < 25_000, `stopped within 25 s of SIGTERM (took ${stopMs} ms)`);
      console.log(`# SIGTERM mid-capture: exited after ${stopMs} ms`);

      const written = logLines(run).find((l) => l.msg === 'bundle written' && l.incident === inc.id);
      assert.ok(written, `the bundle is logged as written:\n${run.stderr().slice(-3000)}`);
      assert.equal(written.partial, true);
      const bundleDir = String(written.bundle);
      const manifest = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8'));
      assert.equal(manifest.partial, true, 'manifest.json says partial');
      assert.match(String(manifest.partial_reason), /stopping/);
      assert.equal(manifest.incident.id, inc.id);
      assert.equal(manifest.target.cgroup_path, cgroup);
      assert.ok(manifest.timings.attached_at, 'the probes had attached before the stop');
      assert.ok(
        manifest.timings.capture_ms < 60_000,
        `the capture was cut before its 60 s time box (${manifest.timings.capture_ms} ms)`,
      );
      assert.ok(existsSync(join(bundleDir, 'findings.json')));
      const bundlesDir = join(dir, 'data', 'bundles');
      assert.deepEqual(
        readdirSync(bundlesDir).filter((n) => n.startsWith('.partial-') || n.startsWith('.tmp-')),
        [],
        'nothing half-written is left',
      );

      const names = triplineProgramNames();
      const held = [...watch.names.values()];
      assert.ok(
        held.some((n) => names.has(n)),
        `the watch saw tripline's programs held by the engine (so the check can fail): ${held.join(', ')}`,
      );
      assert.ok(
        held.some((n) => ['tld_rqs_switch', 'tld_off_switch', 'tld_prof_sample'].includes(n)),
        `the capture's probes were among them: ${held.join(', ')}`,
      );
      assert.deepEqual(await stillLoaded(watch.ids), [], 'no program the engine held is still loaded');
      assert.deepEqual(await orphanedTriplinePrograms(before), [], 'no tripline program without an owner appeared');
    } finally {
      watch?.stop();
      workload?.cleanup();
      if (run) await stopRun(run);
      rmSync(dir, { recursive: true, force: true });
    }
  },
  { timeout: 240_000 },
);

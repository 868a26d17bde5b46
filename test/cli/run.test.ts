import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelTest } from '../support/kernel.ts';
import { parseProm } from '../support/prom-parse.ts';
import { apiGet } from '../support/api.ts';
import { createCgroup } from '../../src/demo/cgroup-admin.ts';

/** Every sample of an exposition, flat. */
function parseExposition(text: string): { name: string; labels: Readonly<Record<string, string>>; value: number }[] {
  return [...parseProm(text).values()].flatMap((f) => f.samples);
}

const bin = join(import.meta.dirname, '..', '..', 'bin', 'tripline');

test('tripline run: unknown flags are usage errors (exit 2) naming the usage', () => {
  const r = spawnSync(bin, ['run', '--bogus'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /CLI_ERR_USAGE: .*bogus.*usage: tripline run/);
});

test('tripline run: a bad config file is refused with file, line, column and the key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-run-'));
  try {
    const cfg = join(dir, 'tripline.yaml');
    writeFileSync(cfg, 'listen: 127.0.0.1:0\nsampler:\n  tick: fast\n');
    const r = spawnSync(bin, ['run', '--config', cfg], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      new RegExp(`CONFIG_ERR_INVALID: ${cfg.replace(/[.]/g, '\\.')}:3:9: sampler\\.tick: .*duration`),
    );
    writeFileSync(cfg, 'listen: 127.0.0.1:0\nlisten_port: 9\n');
    const r2 = spawnSync(bin, ['run', '--config', cfg], { encoding: 'utf8' });
    assert.equal(r2.status, 1);
    assert.match(r2.stderr, /listen_port/);
    const r3 = spawnSync(bin, ['run', '--config', join(dir, 'missing.yaml')], { encoding: 'utf8' });
    assert.equal(r3.status, 1);
    assert.match(r3.stderr, /cannot read config .*missing\.yaml/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tripline run without privileges says what is missing and exits non-zero', () => {
  const r = spawnSync('runuser', ['-u', 'nobody', '--', bin, 'run', '--listen', '127.0.0.1:0'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /privileges: missing CAP_BPF|--no-bpf/);
});

/** Starts `tripline run` and resolves once it logged its listen address. */
function startRun(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ port: number; stop(): Promise<number | null>; stderr: () => string }> {
  const child = spawn(bin, ['run', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tripline run did not start:\n${err}`)), 60_000);
    child.stderr.on('data', (d) => {
      err += d;
      const m = /"listen":"[^"]*:(\d+)"/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({
          port: Number(m[1]),
          stderr: () => err,
          stop: () =>
            new Promise((done) => {
              child.once('exit', (code) => done(code));
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tripline run exited ${code}:\n${err}`));
    });
  });
}

function dataEnv(): { env: NodeJS.ProcessEnv; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-run-'));
  return { env: { ...process.env, TRIPLINE_DATA_DIR: dir, REDIS_URL: '', SLACK_BOT_TOKEN: '' }, dir };
}

test(
  'tripline run --no-bpf keeps the file-based signals and serves /metrics, /healthz, /readyz; misconfigured actions are named at start',
  { timeout: 90_000 },
  async () => {
    const { env, dir } = dataEnv();
    // A cgroup with a quota, so the file-based family has something to read on any host.
    const cg = createCgroup({ name: `tripline-test-${process.pid}-run`, quotaCores: 0.5 });
    // A Slack token without a channel: the bundled rules' Slack actions cannot run; the engine says so and runs on.
    const run = await startRun(['--no-bpf', '--listen', '127.0.0.1:0'], {
      ...env,
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_CHANNEL: '',
    });
    assert.match(run.stderr(), /rule cpu-throttling: actions\[0\] \(slack\) cannot run with this configuration/);
    assert.match(run.stderr(), /"at":"[^"]*rules\/cpu-throttling\.yaml:\d+"/);
    assert.doesNotMatch(run.stderr(), /xoxb-test/, 'the token never appears in logs');
    try {
      const base = `http://127.0.0.1:${run.port}`;
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      for (let i = 0; i < 50 && (await fetch(`${base}/readyz`)).status !== 200; i++)
        await new Promise((r) => setTimeout(r, 200));
      const metrics = parseExposition(await (await fetch(`${base}/metrics`)).text());
      const names = new Set(metrics.map((m) => m.name));
      let cpuSeries = metrics.filter((m) => m.name === 'tripline_cpu_quota_cores' && m.labels.cgroup === cg.path);
      for (let i = 0; i < 30 && cpuSeries.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 500));
        cpuSeries = parseExposition(await (await fetch(`${base}/metrics`)).text()).filter(
          (m) => m.name === 'tripline_cpu_quota_cores' && m.labels.cgroup === cg.path,
        );
      }
      assert.equal(cpuSeries[0]?.value, 0.5, `the quota'd cgroup ${cg.path} is exported by the file-based family`);
      assert.ok(!names.has('tripline_runq_delay_seconds_bucket'), 'no BPF series with --no-bpf');
      // Each side of the split reports its own cost.
      for (const name of ['tripline_process_cpu_seconds_total', 'tripline_process_resident_memory_bytes']) {
        const sides = metrics.filter((m) => m.name === name);
        assert.deepEqual(sides.map((m) => m.labels.side).sort(), ['network', 'probe'], name);
        for (const m of sides) assert.ok(m.value > 0, `${name}{side="${m.labels.side}"} = ${m.value}`);
      }
      const rss = metrics.filter((m) => m.name === 'tripline_process_resident_memory_bytes');
      assert.notEqual(rss[0].value, rss[1].value, 'two processes, two figures');
      assert.equal(metrics.filter((m) => m.name === 'tripline_process_gc_seconds_total').length, 2);
      assert.equal((await fetch(`${base}/api/incidents`)).status, 401, 'the API needs the token');
      assert.deepEqual(await (await apiGet(base, '/api/incidents', dir)).json(), { incidents: [] });
    } finally {
      assert.equal(await run.stop(), 0);
      cg.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

kernelTest('tripline run exports the BPF counters and detaches everything on SIGTERM', async () => {
  const { env, dir } = dataEnv();
  const run = await startRun(['--listen', '127.0.0.1:0'], env);
  let code: number | null = null;
  try {
    const base = `http://127.0.0.1:${run.port}`;
    for (let i = 0; i < 50 && (await fetch(`${base}/readyz`)).status !== 200; i++)
      await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 1500));
    const metrics = parseExposition(await (await fetch(`${base}/metrics`)).text());
    const names = new Set(metrics.map((m) => m.name));
    for (const n of [
      'tripline_runq_delay_seconds_bucket',
      'tripline_syscall_latency_seconds_bucket',
      'tripline_rules_loaded',
    ])
      assert.ok(names.has(n), `${n} exported`);
    const loaded = metrics.find((m) => m.name === 'tripline_rules_loaded');
    assert.ok(loaded && loaded.value >= 7, 'the bundled rules are loaded');
  } finally {
    code = await run.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(code, 0, `graceful stop exits 0:\n${run.stderr().slice(-2000)}`);
  assert.match(run.stderr(), /tripline stopped/);
});

// The webhook through `tripline run` as two processes: the unprivileged network side takes the Alertmanager
// notification and asks the probe side over the channel (capture.request); the probe side resolves the cgroup on
// its host, captures it with the real deep probes and reports the bundle back, shown in /api/incidents. A cgroup
// this host does not have, and a payload out of shape, capture nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelTest } from '../support/kernel.ts';
import { CgroupFixture } from '../support/cgroups.ts';
import { lookupUser } from '../../src/split/spawn.ts';
import { until } from './harness.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'tripline');

kernelTest(
  'alertmanager webhook through tripline run (two processes): the probe side captures the alert’s cgroup',
  async () => {
    if (!lookupUser('tripline')) throw new Error('the user tripline does not exist (scripts/setup.sh creates it)');
    const dir = mkdtempSync(join(tmpdir(), 'tripline-am-split-'));
    const fx = new CgroupFixture();
    const cg = fx.cgroup('amsplit');
    fx.busyLoop(cg);
    mkdirSync(join(dir, 'rules'));
    writeFileSync(
      join(dir, 'rules', 'quiet.yaml'),
      'apiVersion: tripline.dev/v1\nkind: Rule\nmetadata:\n  name: quiet\nspec:\n  when:\n    signal: cpu_throttled_periods\n    stat: rate\n    window: 5s\n    above: 1000000/s\n',
    );
    writeFileSync(
      join(dir, 'tripline.yaml'),
      `host: split-node\nrules: [rules]\ndata_dir: ${join(dir, 'data')}\ncounters: {enabled: [cpustat]}\n` +
        `alertmanager: {receive: {default: {probes: [profile], duration: 1s}}}\n`,
    );
    const env = { ...process.env, REDIS_URL: '', SLACK_BOT_TOKEN: '', NODE_NAME: '' };
    const child = spawn(bin, ['run', '--config', join(dir, 'tripline.yaml'), '--listen', '127.0.0.1:0', '--no-bpf'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    try {
      const port = await until(
        'tripline run listening',
        90_000,
        () => {
          const m = /"listen":"127\.0\.0\.1:(\d+)"[^\n]*"msg":"tripline running"/.exec(err);
          return m ? Number(m[1]) : undefined;
        },
        () => err.slice(-2000),
      );
      const token = readFileSync(join(dir, 'data', 'api-token'), 'utf8').trim();
      const api = (path: string, body?: unknown) =>
        fetch(`http://127.0.0.1:${port}${path}`, {
          method: body ? 'POST' : 'GET',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
      const alert = (fingerprint: string, labels: Record<string, string>) => ({
        status: 'firing',
        labels: { alertname: 'SplitSlow', node: 'split-node', ...labels },
        annotations: {},
        startsAt: new Date().toISOString(),
        fingerprint,
      });
      const res = await api('/api/alertmanager', {
        version: '4',
        status: 'firing',
        receiver: 'tripline',
        alerts: [alert('aa01', { cgroup: cg.path }), alert('aa02', { cgroup: '/no-such-cgroup-here' })],
      });
      const body = (await res.json()) as { alerts: { outcome: string }[] };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.deepEqual(
        body.alerts.map((a) => a.outcome),
        ['captured', 'other_host'],
      );
      assert.equal((await api('/api/alertmanager', { version: '3', alerts: [] })).status, 400);
      assert.equal((await fetch(`http://127.0.0.1:${port}/api/alertmanager`, { method: 'POST' })).status, 401);
      const rec = await until(
        'the alert’s incident with its bundle',
        30_000,
        async () => (((await (await api('/api/incidents')).json()) as any).incidents as any[]).find((r) => r.bundle),
        () => err.slice(-2000),
      );
      assert.equal(rec.rule, 'splitslow');
      assert.equal(rec.incident.target.cgroupId, cg.id);
      const manifest = JSON.parse(readFileSync(join(rec.bundle.dir, 'manifest.json'), 'utf8'));
      assert.equal(manifest.target.cgroup_id, cg.id);
      assert.equal(manifest.probes[0].name, 'profile');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      fx.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  },
  { timeout: 150_000 },
);

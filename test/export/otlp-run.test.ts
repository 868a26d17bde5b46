// `tripline run` with otlp.endpoint: a real incident (a cgroup throttled by its quota, read from cpu.stat) reaches a
// local OTLP/HTTP receiver as log records, sent by the network side — the connection belongs to the unprivileged
// network user, never to root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument, type YAMLMap, type YAMLSeq } from 'yaml';
import { writeDemoRule } from '../../src/demo/rule.ts';
import { startWorkload, type Workload } from '../../src/demo/workload.ts';
import { lookupUser } from '../../src/split/spawn.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';

const root = join(import.meta.dirname, '..', '..');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test(
  'tripline run exports a real incident over OTLP from the network side (its own user)',
  { timeout: 150_000 },
  async (t) => {
    const rx = await new OtlpReceiver().start();
    const dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-otlp-run-`));
    const tag = `otlp${process.pid}x${Math.random().toString(36).slice(2, 8)}`;
    const ruleFile = writeDemoRule(
      join(root, 'rules', 'cpu-throttling.yaml'),
      join(dir, 'rules'),
      `/tripline-demo-${tag}-`,
    );
    // Without BPF only the throttled-ratio condition has data: keep it alone, so the incident's value is its ratio.
    const doc = parseDocument(readFileSync(ruleFile, 'utf8'));
    const any = doc.getIn(['spec', 'when', 'any']) as YAMLSeq<YAMLMap>;
    any.items = any.items.filter((c) => c.has('ratio'));
    writeFileSync(ruleFile, doc.toString());
    const config = join(dir, 'tripline.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        listen: '127.0.0.1:0',
        data_dir: join(dir, 'data'),
        rules: [join(dir, 'rules')],
        slack: { group_wait: '1s' },
        otlp: { endpoint: rx.url, flush_interval: '100ms' },
      }),
    );
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env))
      if (!/^(TRIPLINE_|SLACK_|KUBE|REDIS_URL$|OTEL_)/.test(k)) env[k] = v;
    const child = spawn(join(root, 'bin', 'tripline'), ['run', '--no-bpf', '--config', config], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let workload: Workload | undefined;
    let ok = false;
    try {
      for (let i = 0; !/network side running/.test(err); i++) {
        if (i > 300 || child.exitCode !== null) throw new Error(`tripline run did not start:\n${err}`);
        await sleep(200);
      }
      workload = startWorkload('limit', tag);
      const events = (): string[] => rx.records.map((r) => String(r.eventName));
      for (let i = 0; !(events().includes('incident.firing') && events().includes('incident.action')); i++) {
        if (i > 500 || child.exitCode !== null)
          throw new Error(`no incident records (got ${events().join(', ')}):\n${err.slice(-3000)}`);
        await sleep(200);
      }
      const firing = rx.records.find((r) => r.eventName === 'incident.firing')!;
      assert.equal(firing.attributes['tripline.rule'], 'cpu-throttling');
      assert.equal(firing.attributes['tripline.cgroup'], workload.target.path);
      assert.equal(firing.resource['service.name'], 'tripline');
      const net = lookupUser('tripline');
      assert.ok(net && net.uid !== 0, 'the network user exists (scripts/setup.sh makes it)');
      const uids = [...new Set(rx.requests.map((r) => r.uid))];
      assert.deepEqual(uids, [net.uid], 'every export came from the network side, as its unprivileged user');
      ok = true;
    } finally {
      workload?.cleanup();
      child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(30_000).then(() => 'hung')]);
      if (code === 'hung') child.kill('SIGKILL');
      await rx.stop();
      if (!ok) t.diagnostic(err.slice(-3000));
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

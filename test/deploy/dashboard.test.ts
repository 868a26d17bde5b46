// deploy/grafana/tripline.json against a real Prometheus (Debian's 2.42) scraping a real engine (real BPF counters,
// the Kubernetes stand-in naming a pod, kubelet-style cgroups with real load): every variable query and every panel
// query runs without error and returns data over the run, as Grafana would ask for it (range queries, $node, $pod,
// $__rate_interval), with the recording rules of deploy/prometheus loaded; the http family's panels from the pod's
// own HTTP/1.1 and h2c servers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelTest } from '../support/kernel.ts';
import { startPrometheus, type TestPrometheus } from '../support/prom-server.ts';
import { E2eWorld, waitFor } from '../e2e/support.ts';
import { writeDemoRule } from '../../src/demo/rule.ts';

const root = join(import.meta.dirname, '..', '..');
const dashboard = JSON.parse(readFileSync(join(root, 'deploy', 'grafana', 'tripline.json'), 'utf8')) as {
  templating: { list: { name: string; type: string; query: string | { query: string } }[] };
  panels: {
    id: number;
    title: string;
    type: string;
    targets?: { expr: string; refId: string; datasource?: unknown }[];
  }[];
};
/** The families another module may not run here: their panels may be empty while Prometheus has none of them. */
const NODE = 'dashboard-test-node';
const STEP = 2;
/** Grafana's $__rate_interval at a 1 s scrape interval: four scrapes. */
const RATE_INTERVAL = '4s';

/**
 * The pod's second container: an HTTP/1.1 and an h2c server of its own (the http family counts the server side)
 * and, in a loop, TCP connects and HTTP/1.1 and HTTP/2 requests to them, and direct block writes (so the latency
 * panels of a pod have data).
 */
const LOADER = `
const net = require('node:net'), http = require('node:http'), http2 = require('node:http2'), fs = require('node:fs');
const [file] = process.argv.slice(1).map(String);
const s1 = http.createServer((q, r) => r.end('ok')).listen(0, '127.0.0.1');
const s2 = http2.createServer((q, r) => r.end('ok')).listen(0, '127.0.0.1');
let h2;
setInterval(() => {
  const port1 = s1.address().port, port2 = s2.address().port;
  const s = net.connect(port1, '127.0.0.1', () => s.destroy()); s.on('error', () => {});
  http.get('http://127.0.0.1:' + port1 + '/', (r) => r.resume()).on('error', () => {});
  try {
    if (!h2 || h2.destroyed) { h2 = http2.connect('http://127.0.0.1:' + port2); h2.on('error', () => {}); }
    const q = h2.request({ ':path': '/' }); q.on('error', () => {}); q.resume(); q.end();
  } catch {}
}, 100);
const buf = Buffer.alloc(65536, 1);
setInterval(() => {
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, buf); fs.fsyncSync(fd); fs.closeSync(fd);
}, 200);
`;

/** `$node`, `$pod` and `$__rate_interval` as Grafana substitutes them for one selected node and pod. */
function substitute(expr: string, vars: { node: string; pod: string }): string {
  const re = (v: string): string => v.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&');
  return expr
    .replaceAll('$__rate_interval', RATE_INTERVAL)
    .replaceAll('$node', re(vars.node))
    .replaceAll('$pod', re(vars.pod));
}

/** The series `label_values(metric{sel}, label)` asks Prometheus for. */
function labelValuesQuery(q: string): { label: string; match: string } {
  const m = /^label_values\((.+),\s*([a-z_]+)\)$/.exec(q);
  assert.ok(m, `a label_values() variable: ${q}`);
  return { match: m[1], label: m[2] };
}

test('the dashboard: unique panel ids, the datasource and node/pod variables everywhere, every section there', () => {
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
  assert.deepEqual(
    dashboard.templating.list.map((v) => v.name),
    ['datasource', 'node', 'pod'],
  );
  const targets = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ p, t })));
  for (const { p, t } of targets) {
    assert.deepEqual(t.datasource, { type: 'prometheus', uid: '${datasource}' }, p.title);
    assert.match(t.expr, /node=~"\$node"/, `${p.title}: filtered by $node`);
  }
  const exprs = targets.map(({ t }) => t.expr).join('\n');
  for (const needed of [
    'tripline_runq_delay_seconds_bucket',
    'tripline_cpu_throttled_periods:ratio_1m',
    'tripline_syscall_latency_seconds:p99_1m',
    'tripline_tcp_connect_latency_seconds:p99_1m',
    'tripline_blockio_latency_seconds:p99_1m',
    'tripline_http_request_duration_seconds',
    'tripline_http2_frames_total',
    'tripline_incidents_total',
    'tripline_action_delivery_seconds',
    'tripline_engine_tick_duration_seconds',
  ])
    assert.ok(exprs.includes(needed), `a panel shows ${needed}`);
  assert.ok(dashboard.panels.some((p) => p.type === 'heatmap' && p.targets?.[0].expr.includes('runq_delay')));
});

kernelTest(
  'every query of the Grafana dashboard returns data from a real Prometheus scraping a real engine',
  async (t) => {
    const rulesDir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-dash-`));
    const w = new E2eWorld({ rules: [rulesDir] });
    let prom: TestPrometheus | undefined;
    let loader: ChildProcess | undefined;
    let ok = false;
    try {
      const uid = w.deployment('shop', 'web', 1);
      const podName = [...w.kube.pods.values()].find((p) => p.metadata.uid === uid)!.metadata.name;
      // The throttling rule with the demo's short timings, scoped to this pod: an incident, a capture, actions.
      writeDemoRule(join(root, 'rules', 'cpu-throttling.yaml'), rulesDir, `/kubepods/burstable/pod${uid}/`);
      await w.start();
      const started = Date.now() / 1000;
      // A throttled container (0.2 cores, two busy loops) and a loader container of the same pod.
      const burn = w.podCgroup(uid, 0.2);
      w.busy(burn.cg, 'web-burn');
      w.busy(burn.cg, 'web-burn');
      const side = w.podCgroup(uid);
      loader = spawn(process.execPath, ['-e', LOADER, join(w.dir, 'blockio')], { stdio: 'ignore' });
      side.cg.addPid(loader.pid!);
      const [host, port] = [w.engine!.address!.host, w.engine!.address!.port];
      // The rule file as shipped, evaluated every second instead of every 30 s so a short run has recorded series.
      const rules = readFileSync(join(root, 'deploy', 'prometheus', 'tripline.rules.yml'), 'utf8').replace(
        /interval: 30s/g,
        'interval: 1s',
      );
      prom = await startPrometheus(
        [
          'global: { scrape_interval: 1s, evaluation_interval: 1s }',
          'rule_files: [tripline.rules.yml]',
          'scrape_configs:',
          '  - job_name: tripline',
          `    static_configs: [{ targets: ["${host}:${port}"], labels: { node: "${NODE}" } }]`,
          '',
        ].join('\n'),
        { 'tripline.rules.yml': rules },
      );
      // An incident of the pod fires, is captured and its actions delivered; then a few more scrapes.
      await waitFor(
        "the incident's actions",
        90_000,
        () => w.actions.some((a) => a.job.event === 'firing'),
        () => w.describe(),
      );
      await new Promise((r) => setTimeout(r, 6000));
      const end = Date.now() / 1000;

      // Variables: node and pod as Grafana lists them.
      const vars = { node: '', pod: '' };
      for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
        const q = labelValuesQuery(typeof v.query === 'string' ? v.query : v.query.query);
        const values = (await prom.api(`label/${q.label}/values`, {
          'match[]': substitute(q.match, vars),
          start: String(started),
          end: String(end),
        })) as string[];
        assert.ok(values.length > 0, `variable ${v.name} lists values`);
        vars[v.name as 'node' | 'pod'] = v.name === 'node' ? NODE : podName;
        assert.ok(values.includes(vars[v.name as 'node' | 'pod']), `variable ${v.name}: ${values.join(', ')}`);
      }

      const empty: string[] = [];
      let queries = 0;
      for (const p of dashboard.panels) {
        for (const target of p.targets ?? []) {
          const expr = substitute(target.expr, vars);
          const data = (await prom.api('query_range', {
            query: expr,
            start: String(started),
            end: String(end),
            step: String(STEP),
          })) as { result: { values: [number, string][] }[] };
          queries++;
          const hasData = data.result.some((s) => s.values.some(([, v]) => v !== 'NaN'));
          if (!hasData) empty.push(`${p.title} [${target.refId}]: ${expr}`);
        }
      }
      assert.ok(queries >= 30, `${queries} queries`);
      assert.deepEqual(empty, [], 'queries without data');
      ok = true;
    } finally {
      loader?.kill('SIGKILL');
      await prom?.stop();
      if (!ok) t.diagnostic(`kept ${w.dir} (engine log)`);
      await w.close(!ok);
      rmSync(rulesDir, { recursive: true, force: true });
    }
  },
  { timeout: 180_000 },
);

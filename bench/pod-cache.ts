/**
 * What the pod cache costs the network side: RSS and heap of a network side (queue, HTTP server) with and without
 * the cache, against the fake API server holding a node's worth of pods, and the time from start to the first
 * snapshot. Each figure is taken in a fresh child process, run as bin/tripline runs the network side
 * (`--max-semi-space-size=2`), after a settle and a GC.
 *   scripts/node bench/pod-cache.ts [--pods 110] [--containers 2] [--rounds 3] [--settle-ms 2000]
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const run = promisify(execFile);

const { values: args } = parseArgs({
  options: {
    pods: { type: 'string', default: '110' },
    containers: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    'settle-ms': { type: 'string', default: '2000' },
    child: { type: 'string' },
    url: { type: 'string' },
  },
});

interface Figures {
  mode: string;
  rssStartMB: number;
  rssMB: number;
  heapMB: number;
  syncMs?: number;
  snapshotBytes?: number;
}

const MB = (n: number): number => Math.round((n / 1048576) * 10) / 10;

/** One network side in this process; prints its figures as one JSON line. */
async function child(mode: string, url: string, pods: number): Promise<void> {
  const { Registry } = await import('prom-client');
  const { buildConfig } = await import('../src/config.ts');
  const { NetworkSide } = await import('../src/split/network-side.ts');
  const { localSilences } = await import('../src/rules/silence-service.ts');
  const { Suppressor } = await import('../src/rules/evaluate/suppress.ts');
  const dir = mkdtempSync(join(tmpdir(), 'tripline-bench-pods-'));
  const quiet = { debug() {}, info() {}, warn() {}, error() {}, fatal() {}, trace() {}, child: () => quiet } as never;
  let first: { at: number; bytes: number } | undefined;
  const t0 = performance.now();
  const side = new NetworkSide({
    config: buildConfig(
      {
        listen: '127.0.0.1:0',
        data_dir: dir,
        kubernetes: { api_url: url, ...(mode === 'on' ? { node_name: 'node-1' } : {}) },
      },
      {},
    ),
    log: quiet,
    probe: {
      metrics: async () => ({ text: '', contentType: 'text/plain' }),
      silences: localSilences(() => new Suppressor()),
    },
    apiToken: 'bench-token-0123456789abcdef',
    metricsRegistry: new Registry(),
    env: {},
    onPods: (s) => {
      // The first snapshot whose Deployments are all resolved (ReplicaSets read): the cache is useful from then on.
      if (!first && s.pods.length === pods && s.pods.every((p) => p.workload?.kind !== 'ReplicaSet'))
        first = { at: performance.now(), bytes: Buffer.byteLength(JSON.stringify(s)) };
    },
  });
  await side.start();
  const rssStart = process.memoryUsage().rss;
  if (mode === 'on') while (!first) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, Number(args['settle-ms'])));
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const out: Figures = {
    mode,
    rssStartMB: MB(rssStart),
    rssMB: MB(m.rss),
    heapMB: MB(m.heapUsed),
    syncMs: first ? Math.round(first.at - t0) : undefined,
    snapshotBytes: first?.bytes,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
  await side.stop(1000);
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

async function main(): Promise<void> {
  const { FakeKube } = await import('../test/support/fake-kube.ts');
  const pods = Number(args.pods);
  const containers = Array.from({ length: Number(args.containers) }, (_, i) => `c${i}`);
  const kube = await new FakeKube().start();
  // A node's mix: pods of Deployments (5 per ReplicaSet), a few DaemonSet pods, and pods of other nodes.
  let made = 0;
  for (let d = 0; made < pods - 4; d++) {
    const n = Math.min(5, pods - 4 - made);
    const uids = kube.addDeployment(`ns-${d % 7}`, `app-${d}`, n, n);
    for (const uid of uids) {
      const pod = [...kube.pods.values()].find((p) => p.metadata.uid === uid)!;
      kube.modifyPod(pod.metadata.namespace, pod.metadata.name, (p) => {
        p.spec.containers = containers.map((name) => ({ name }));
        p.status.containerStatuses = containers.map((name, i) => ({
          name,
          containerID: `containerd://${(i + 1).toString(16).padStart(64, 'a')}`,
        }));
      });
    }
    made += n;
  }
  for (let i = 0; i < 4; i++) kube.addPod('kube-system', `ds-${i}`, { kind: 'DaemonSet', name: `ds-${i}` });
  for (let i = 0; i < pods; i++) kube.addPod('elsewhere', `p-${i}`, undefined, { node: 'node-2' });
  const rows: Figures[] = [];
  for (let r = 0; r < Number(args.rounds); r++)
    for (const mode of ['off', 'on']) {
      // Asynchronously: the fake API server answers from this process's event loop.
      const { stdout: out } = await run(
        process.execPath,
        [
          '--max-semi-space-size=2',
          '--expose-gc',
          process.argv[1]!,
          '--child',
          mode,
          '--url',
          kube.url,
          '--pods',
          String(pods),
          '--settle-ms',
          String(args['settle-ms']),
        ],
        { encoding: 'utf8', timeout: 120_000 },
      );
      rows.push(JSON.parse(out.trim().split('\n').at(-1)!) as Figures);
    }
  await kube.stop();
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `pod cache: ${pods} pods on the node (x${containers.length} containers), ${pods} on another node; ${args.rounds} rounds, medians`,
  );
  console.log('mode  RSS at start MB  RSS settled MB  heap MB  first snapshot ms  snapshot bytes');
  for (const mode of ['off', 'on']) {
    const rs = rows.filter((x) => x.mode === mode);
    const f = (k: keyof Figures): string =>
      rs[0]![k] === undefined ? '-' : String(median(rs.map((x) => Number(x[k]))));
    console.log(
      `${mode.padEnd(4)}  ${f('rssStartMB').padStart(15)}  ${f('rssMB').padStart(14)}  ${f('heapMB').padStart(7)}  ${f('syncMs').padStart(17)}  ${f('snapshotBytes').padStart(14)}`,
    );
  }
}

if (args.child) await child(args.child, args.url!, Number(args.pods));
else await main();

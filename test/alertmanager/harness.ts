/**
 * The Alertmanager tests' world: the engine in one process (file-based counters; deep probes prepared on demand)
 * with a throttling rule on this test's cgroups, the Slack and Kubernetes stand-ins, pod cgroups in the kubelet's
 * cgroupfs layout under a test root (`<root>/kubepods/burstable/pod<uid>/<container id>`) with busy loops, and the
 * real Alertmanager started once the engine listens (its webhook needs the engine's port and API token).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig } from '../../src/config.ts';
import { Engine } from '../../src/engine.ts';
import { createLogger } from '../../src/log.ts';
import { createCgroup, type ManagedCgroup } from '../../src/demo/cgroup-admin.ts';
import { FakeKube } from '../support/fake-kube.ts';
import { FakeSlack } from '../support/fake-slack.ts';
import { testCgroupName } from '../support/cgroups.ts';
import { startAlertmanager } from '../support/alertmanager.ts';
import { freePort, type Started } from '../support/daemon.ts';

export const NODE = 'node-1';
export const CHANNEL = '#ops';
export const RULE = 'am-throttled';

/** A pod of the stand-in cluster laid out as a cgroup on this host. */
export interface TestPod {
  readonly name: string;
  readonly uid: string;
  readonly containerId: string;
  readonly cg: ManagedCgroup;
}

export class AmWorld {
  readonly dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-am-`));
  readonly slack = new FakeSlack();
  readonly kube = new FakeKube();
  readonly top = testCgroupName('am');
  engine?: Engine;
  am?: Started;
  amPort = 0;
  readonly #cgroups: ManagedCgroup[] = [];
  readonly #procs: ChildProcess[] = [];
  readonly #busy = new Map<string, ChildProcess>();
  readonly #stops: (() => Promise<unknown>)[] = [];
  #savedToken = process.env.SLACK_BOT_TOKEN;

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  get api(): string {
    return `http://127.0.0.1:${this.engine!.address!.port}`;
  }

  /** A pod in the stand-in cluster (on `node`), and — on this node — its container's cgroup with `quota` cores. */
  pod(name: string, node = NODE, quota?: number): TestPod {
    this.kube.addPod('shop', name, undefined, { node, containers: ['app'] });
    const p = this.kube.pods.get(`shop/${name}`)!;
    p.metadata.uid = randomUUID(); // the kubelet writes the uid into cgroup paths: a real, hex uid
    const containerId = p.status.containerStatuses![0].containerID!.replace('containerd://', '');
    const segs = [this.top, 'kubepods', 'burstable', `pod${p.metadata.uid}`, containerId];
    let cg: ManagedCgroup | undefined;
    for (let i = 1; i <= segs.length; i++) {
      const made = createCgroup({
        name: segs.slice(0, i).join('/'),
        ...(i === segs.length && quota ? { quotaCores: quota } : {}),
      });
      if (!this.#cgroups.some((c) => c.rel === made.rel)) this.#cgroups.push(made);
      cg = made;
    }
    return { name, uid: p.metadata.uid, containerId, cg: cg! };
  }

  /** A plain cgroup `<root>/<name>` (no pod) with `quota` cores, as a TestPod without a pod. */
  plain(name: string, quota: number): TestPod {
    const top = createCgroup({ name: this.top });
    if (!this.#cgroups.some((c) => c.rel === top.rel)) this.#cgroups.push(top);
    const cg = createCgroup({ name: `${this.top}/${name}`, quotaCores: quota });
    this.#cgroups.push(cg);
    return { name, uid: '', containerId: '', cg };
  }

  /** A busy loop in the pod's cgroup. */
  load(pod: TestPod): void {
    const c = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    this.#procs.push(c);
    this.#busy.set(pod.name, c);
    pod.cg.addPid(c.pid!);
  }

  unload(pod: TestPod): void {
    this.#busy.get(pod.name)?.kill('SIGKILL');
  }

  /** Starts the stand-ins and the engine (with `alertmanager` config merged in); Alertmanager is `startAm`'s. */
  async start(alertmanager: Record<string, unknown> = {}): Promise<void> {
    await this.slack.start();
    await this.kube.start();
    this.#stops.push(
      () => this.slack.stop(),
      () => this.kube.stop(),
    );
    process.env.SLACK_BOT_TOKEN = this.slack.token;
    this.amPort = await freePort();
    const rules = join(this.dir, 'rules');
    mkdirSync(rules);
    writeFileSync(
      join(rules, `${RULE}.yaml`),
      `apiVersion: tripline.dev/v1
kind: Rule
metadata:
  name: ${RULE}
spec:
  severity: warning
  group_by: [cgroup, pod_uid]
  match:
    cgroup: {regex: '/${this.top}/.*'}
  when:
    ratio: {of: cpu_throttled_periods, to: cpu_periods}
    window: 3s
    above: 20%
  for: 0s
  keep_firing_for: 0s
  cooldown: 1s
  capture: {duration: 1s}
  annotations:
    summary: '{{ .labels.cgroup }} throttled'
  actions:
    - type: slack
      channel: '${CHANNEL}'
`,
    );
    const config = buildConfig(
      {
        listen: '127.0.0.1:0',
        host: NODE,
        rules: [rules],
        data_dir: this.dataDir,
        slack: { api_url: this.slack.url, channel: CHANNEL, group_wait: '1s' },
        kubernetes: { api_url: this.kube.url, node_name: NODE },
        counters: { enabled: ['cpustat'] },
        capture: { duration: '1s' },
        alertmanager: {
          url: [`http://127.0.0.1:${this.amPort}`],
          refresh: '2s',
          ...alertmanager,
          receive: {
            actions: [{ type: 'slack', channel: CHANNEL }],
            default: { probes: ['profile', 'offcpu'], duration: '1s' },
            ...((alertmanager.receive as object) ?? {}),
          },
        },
      },
      { SLACK_BOT_TOKEN: this.slack.token },
    );
    this.engine = new Engine({
      config,
      log: createLogger('info', createWriteStream(join(this.dir, 'engine.log'))),
      watchRules: false,
      noBpf: true,
    });
    this.#stops.push(() => this.engine!.stop());
    await this.engine.start();
  }

  /** Starts Alertmanager: alerts labelled to="tripline" go to the engine's webhook, the rest to `defaultUrl`. */
  async startAm(defaultUrl: string): Promise<Started> {
    this.am = await startAlertmanager(
      `route:
  receiver: recorder
  group_by: ['...']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['to="tripline"']
      receiver: tripline
receivers:
  - name: tripline
    webhook_configs:
      - url: ${this.api}/api/alertmanager
        send_resolved: true
        max_alerts: 40
        http_config:
          authorization:
            credentials_file: ${join(this.dataDir, 'api-token')}
  - name: recorder
    webhook_configs:
      - url: ${defaultUrl}
        send_resolved: true
`,
      this.amPort,
    );
    this.#stops.push(() => this.am!.stop());
    return this.am;
  }

  /** GET of the engine's API with its token. */
  async get(path: string): Promise<any> {
    const token = readFileSync(join(this.dataDir, 'api-token'), 'utf8').trim();
    const res = await fetch(`${this.api}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return path === '/metrics' ? res.text() : res.json();
  }

  engineLog(): string {
    return readFileSync(join(this.dir, 'engine.log'), 'utf8');
  }

  async close(keep = false): Promise<void> {
    for (const p of this.#procs) p.kill('SIGKILL');
    for (const s of this.#stops.reverse()) await s().catch(() => undefined);
    if (this.#savedToken === undefined) delete process.env.SLACK_BOT_TOKEN;
    else process.env.SLACK_BOT_TOKEN = this.#savedToken;
    for (const c of this.#cgroups.reverse()) {
      try {
        c.destroy();
      } catch {
        /* gone */
      }
    }
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls every 250 ms until `probe` returns a truthy value; throws with `state()` after `ms`. */
export async function until<T>(what: string, ms: number, probe: () => T | Promise<T>, state = () => ''): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${state()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

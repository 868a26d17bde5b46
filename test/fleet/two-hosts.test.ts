// Two hosts on one Redis, as two hosts: two real `tripline run` engines, each in its own network namespace with its
// own `host` name, share one redis-server, one Slack stand-in and one Kubernetes stand-in in the root namespace.
// (a) a pod's incident seen by both (a kubelet-laid-out cgroup really throttled by its CFS quota) is one Slack
// thread and one scale PATCH; (b) a node-level incident on each host (a rule on the system-wide syscall rate) is
// two incidents, two threads, each naming its host; (c) the engine whose worker made the first Slack post is cut off
// mid-post and SIGKILLed: the other engine's workers deliver it, and the killed engine, restarted, neither posts nor
// scales again.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { kernelTest, skipOrFail } from '../support/kernel.ts';
import { FakeKube } from '../support/fake-kube.ts';
import { FakeSlack, type FakeMessage } from '../support/fake-slack.ts';
import { startRedis, type TestRedis } from '../support/redis.ts';
import { createCgroup, type ManagedCgroup } from '../../src/demo/cgroup-admin.ts';
import { lookupUser } from '../../src/split/spawn.ts';
import {
  createHost,
  destroyHost,
  netnsUnavailable,
  nsPids,
  RootProxy,
  spawnIn,
  startForwarder,
  sweepLeftovers,
  type NetHost,
} from './netns.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'tripline');
const POD_RULE = 'fleet-pod-throttled';
const NODE_RULE = 'fleet-node-syscalls';
const CHANNEL = '#fleet';

/** Polls `probe` every 100 ms until it returns something other than undefined/false; names what it awaited. */
async function waitFor<T>(
  what: string,
  ms: number,
  probe: () => T | undefined | false,
  state: () => string,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}\n${state()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function rules(podUid: string): string {
  return `apiVersion: tripline.dev/v1
kind: Rule
metadata: {name: ${POD_RULE}}
spec:
  group_by: [cgroup, pod_uid]
  match: {pod_uid: '${podUid}'}
  when: {ratio: {of: cpu_throttled_periods, to: cpu_periods}, window: 2s, above: 20%}
  keep_firing_for: 10m
  cooldown: 10m
  capture: {duration: 1s}
  actions:
    - type: slack
    - {type: scale, target: auto, step: '+1', max: 10, cooldown: 10m, when_cause: [any]}
---
apiVersion: tripline.dev/v1
kind: Rule
metadata: {name: ${NODE_RULE}}
spec:
  when: {signal: syscall_latency_seconds, stat: rate, window: 2s, above: 1/s}
  keep_firing_for: 10m
  cooldown: 10m
  # Host-wide rules capture their top contributors; short, so the post is queued before scenario (c)'s kill.
  capture: {duration: 1s}
  actions:
    - type: slack
`;
}

/** One host's engine: `tripline run` in the host's namespace, its stderr kept (in memory and in `<dir>/<host>.log`). */
class HostEngine {
  child?: ChildProcess;
  log = '';
  forwarder?: ChildProcess;
  readonly host: NetHost;
  readonly #config: string;
  readonly #logFile: string;
  readonly #env: NodeJS.ProcessEnv;

  constructor(host: NetHost, config: string, logFile: string, env: NodeJS.ProcessEnv) {
    this.host = host;
    this.#config = config;
    this.#logFile = logFile;
    this.#env = env;
  }

  /** Starts the engine; resolves once it says it is running (probes attached, network side listening). */
  async start(): Promise<void> {
    const child = spawnIn(this.host, bin, ['run', '--config', this.#config], {
      env: this.#env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    let started = false;
    child.stderr!.on('data', (d) => {
      this.log += d;
      appendFileSync(this.#logFile, d);
    });
    const exited = new Promise<string>((r) => child.once('exit', (code, sig) => r(`${code ?? sig}`)));
    await Promise.race([
      waitFor(
        `engine ${this.host.name} to run`,
        60_000,
        () => /"msg":"tripline running"/.test(this.log) && (started = true),
        () => this.tail(),
      ),
      exited.then((how) => {
        if (!started) throw new Error(`engine ${this.host.name} exited ${how} before running:\n${this.tail()}`);
      }),
    ]);
  }

  /** SIGKILL of both sides of the engine (every process of its namespace but the forwarder), as a host crash would. */
  kill(): void {
    for (const pid of nsPids(this.host.ns)) {
      if (pid === this.forwarder?.pid) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  /** Stops the engine (SIGTERM, then SIGKILL after 15 s). Never throws. */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return this.kill();
    c.kill('SIGTERM');
    await Promise.race([new Promise((r) => c.once('exit', r)), new Promise((r) => setTimeout(r, 15_000).unref())]);
    this.kill();
  }

  tail(): string {
    return `--- ${this.host.name} log (last lines) ---\n${this.log.split('\n').slice(-15).join('\n')}`;
  }
}

/** Everything the test starts; `close()` releases all of it, also after a failure. */
class Fleet {
  readonly dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-fleet-`));
  readonly slack = new FakeSlack();
  readonly kube = new FakeKube();
  redis?: TestRedis;
  readonly hosts: NetHost[] = [];
  readonly proxies: RootProxy[] = [];
  readonly engines: HostEngine[] = [];
  readonly #cgroups: ManagedCgroup[] = [];
  readonly #parents: string[] = [];
  readonly #procs: ChildProcess[] = [];

  /** A pod cgroup at /kubepods/burstable/pod<uid>/<64 hex> with a CPU quota of `cores`, parents made when missing. */
  podCgroup(uid: string, cores: number): ManagedCgroup {
    const segs = ['kubepods', 'burstable', `pod${uid}`];
    for (let i = 1; i <= segs.length; i++) {
      const cg = createCgroup({ name: segs.slice(0, i).join('/') });
      this.#parents.push(...cg.dirs);
    }
    const cg = createCgroup({
      name: `${segs.join('/')}/${randomBytes(32).toString('hex')}`,
      quotaCores: cores,
      periodUs: 100_000,
    });
    this.#cgroups.push(cg);
    return cg;
  }

  /**
   * A shell busy loop in `cg`: it waits to be moved there, then runs for at most 3 minutes, so even a test killed
   * before its cleanup leaves no endless loop behind.
   */
  busy(cg: ManagedCgroup): void {
    const loop = 'read go; exec timeout 180 sh -c "while :; do :; done"';
    const child = spawn('sh', ['-c', loop], { stdio: ['pipe', 'ignore', 'ignore'] });
    this.#procs.push(child);
    cg.addPid(child.pid!);
    child.stdin!.end('go\n');
  }

  /** Slack parent messages of a rule. */
  parents(rule: string): FakeMessage[] {
    return this.slack.parents().filter((m) => m.text.includes(rule));
  }

  /** Real (not dry-run) PATCHes the Kubernetes stand-in received. */
  patches() {
    return this.kube.patches().filter((p) => p.query.dryRun === undefined);
  }

  state(): string {
    const msgs = this.slack.parents().map((m) => `  parent ${m.ts}: ${m.text.slice(0, 160)}`);
    const held = this.proxies.flatMap((p) => p.held.map((h) => `  held on ${h.host}: ${h.text.split('\r\n')[0]}`));
    return [
      `slack calls: ${this.slack.requests.map((r) => r.method).join(',')}`,
      ...msgs,
      ...held,
      `kube: ${this.kube.calls.map((c) => `${c.method} ${c.path}`).join(', ')}`,
      ...this.engines.map((e) => e.tail()),
      `(all in ${this.dir})`,
    ].join('\n');
  }

  async close(keep: boolean): Promise<void> {
    for (const p of this.#procs) p.kill('SIGKILL');
    // The loops themselves (children of timeout) are in the cgroup: kill what is left there.
    for (const cg of this.#cgroups)
      for (const pid of cg.pids())
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
    await Promise.all(this.engines.map((e) => e.stop()));
    for (const e of this.engines) e.forwarder?.kill('SIGKILL');
    for (const h of this.hosts) destroyHost(h);
    await Promise.all(this.proxies.map((p) => p.close()));
    await this.slack.stop().catch(() => undefined);
    await this.kube.stop().catch(() => undefined);
    await this.redis?.stop().catch(() => undefined);
    for (const cg of this.#cgroups.reverse()) {
      try {
        cg.destroy();
      } catch {
        /* reported by the next run's leftovers check */
      }
    }
    // Shared parents (/kubepods/...): the kernel refuses rmdir while another test's pods are in them.
    for (const d of this.#parents.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        /* in use, or gone */
      }
    }
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
  }
}

kernelTest(
  'two engines in two network namespaces on one Redis: a pod is one incident, node-level trips are per host, a killed engine’s delivery is completed by the other',
  async (t: TestContext) => {
    const why = netnsUnavailable();
    if (why) return skipOrFail(t, why);
    if (!lookupUser('tripline')) return skipOrFail(t, 'the user tripline does not exist (scripts/setup.sh creates it)');
    sweepLeftovers();
    const f = new Fleet();
    let ok = false;
    const state = (): string => f.state();
    try {
      const started = Date.now();
      f.redis = await startRedis();
      await f.slack.start();
      await f.kube.start();
      const [fakeUid] = f.kube.addDeployment('shop', 'web', 2, 1);
      const pod = [...f.kube.pods.values()].find((p) => p.metadata.uid === fakeUid)!;
      // The kubelet writes the uid into the cgroup path, so it must be a real one.
      pod.metadata.uid = randomUUID();
      const uid = pod.metadata.uid;

      chmodSync(f.dir, 0o755); // the network side (user tripline) reaches its data_dir below it
      const rulesDir = join(f.dir, 'rules');
      mkdirSync(rulesDir);
      writeFileSync(join(rulesDir, 'fleet.yaml'), rules(uid));
      const ports = [f.redis.port, Number(new URL(f.slack.url).port), Number(new URL(f.kube.url).port)];
      const env: NodeJS.ProcessEnv = { SLACK_BOT_TOKEN: f.slack.token };
      for (const [k, v] of Object.entries(process.env))
        if (!/^(TRIPLINE_|SLACK_|KUBE|REDIS_|NODE_NAME$)/.test(k)) env[k] = v;

      for (const name of ['node-a', 'node-b']) {
        const h = createHost(name);
        f.hosts.push(h);
        const proxy = await new RootProxy(h).listen(ports);
        f.proxies.push(proxy);
        const config = join(f.dir, `${name}.yaml`);
        writeFileSync(
          config,
          JSON.stringify({
            host: name,
            listen: '127.0.0.1:0',
            data_dir: join(f.dir, name),
            rules: [rulesDir],
            sampler: { tick: '500ms', history: '1m' },
            counters: { enabled: ['cpustat', 'syscalls'] },
            redis: { url: f.redis.url },
            slack: { api_url: f.slack.url, channel: CHANNEL, group_wait: '1s' },
            kubernetes: { api_url: f.kube.url },
            actions: { backoff: '500ms', lock_duration: '2s' },
          }),
        );
        const e = new HostEngine(h, config, join(f.dir, `${name}.log`), { ...env, NODE_NAME: name });
        e.forwarder = await startForwarder(h, ports);
        f.engines.push(e);
      }

      // (c) is armed before anything trips: the first Slack post, whichever host's worker makes it, is cut off.
      let armed = true;
      for (const p of f.proxies)
        p.hold = (chunk) => {
          if (!armed || !/^POST \/api\/chat\.postMessage /.test(chunk)) return false;
          armed = false;
          return true;
        };

      // (a)'s load: a pod container throttled by its own quota (0.2 cores, one busy loop), running before the
      // engines start so both see it from their first tick.
      const cg = f.podCgroup(uid, 0.2);
      f.busy(cg);

      await Promise.all(f.engines.map((e) => e.start()));
      const running = Date.now();

      const held = await waitFor(
        'the first Slack post (held by the proxy)',
        30_000,
        () => f.proxies.flatMap((p) => p.held)[0],
        state,
      );
      const victim = f.engines.find((e) => e.host.name === held.host)!;
      const survivor = f.engines.find((e) => e !== victim)!;
      victim.kill();
      const killedAt = Date.now();
      // What was held: the message's fallback text says "<rule> firing on <host>" (form- or JSON-encoded).
      const [, heldRule, heldHost] = await waitFor(
        'the held post to show its rule and host',
        5000,
        () => /(fleet-[a-z-]+)(?:\+|%20| )firing(?:\+|%20| )on(?:\+|%20| )(node-[ab])/.exec(held.text) ?? undefined,
        () => `held: ${held.text.slice(0, 2000)}`,
      );
      t.diagnostic(
        `${victim.host.name}'s post of ${heldRule} (${heldHost}) held, engine killed ${killedAt - running} ms after both ran`,
      );

      // Final state, whoever delivered what: one thread for the pod (with the scale's note), one per host for the
      // node-level rule, one PATCH.
      const scaledNote = (): boolean => {
        const parent = f.parents(POD_RULE)[0];
        return !!parent && f.slack.replies(parent.ts).some((r) => /Scaled Deployment/.test(JSON.stringify(r)));
      };
      const done = (): boolean =>
        f.parents(POD_RULE).length >= 1 && f.parents(NODE_RULE).length >= 2 && f.patches().length >= 1 && scaledNote();
      await waitFor(
        'one pod thread with its scale note, two node-level threads and one scale PATCH',
        45_000,
        done,
        state,
      );
      const delivered = Date.now();

      // (c) the held delivery was completed by the survivor's workers (its network side logs each settled job).
      // The log line comes after the stand-in answered: wait for it.
      const deliveredHeld = (): boolean =>
        survivor.log
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, string>)
          .some(
            (o) =>
              o.action === 'slack' &&
              o.event === 'firing' &&
              /posted/.test(o.result ?? '') &&
              o.key.startsWith(`${heldRule}{`) &&
              (heldRule === POD_RULE || o.key.includes(`host="${heldHost}"`)),
          );
      await waitFor(
        `the survivor (${survivor.host.name}) to deliver the held ${heldRule} post`,
        10_000,
        deliveredHeld,
        state,
      );

      // Every delivery done before the restart (the killed engine's other active jobs come back through the
      // survivor only once their queue lock expires): the three threads, then no new post for 2 s.
      await waitFor(
        'a thread per pod and per host (3)',
        20_000,
        () => f.slack.parents().length >= 3 || undefined,
        state,
      );
      let quiet = { n: -1, since: Date.now() };
      await waitFor(
        'Slack quiet for 2 s',
        20_000,
        () => {
          const n = f.slack.calls('chat.postMessage').length;
          if (n !== quiet.n) quiet = { n, since: Date.now() };
          return Date.now() - quiet.since >= 2000 || undefined;
        },
        state,
      );

      // The killed engine restarts on its own state: it must neither post nor scale again.
      await victim.start();
      const before = { parents: f.slack.parents().length, posts: f.slack.calls('chat.postMessage').length };
      // Nothing to wait for but time: the restarted engine's windows (2 s) fill, a re-trip would be posted after
      // group_wait (1 s). Watch for 6 s.
      await new Promise((r) => setTimeout(r, 6000));

      // (a) the pod: one incident for both hosts — one parent, one PATCH (2 → 3) on the Deployment's scale.
      const podParents = f.parents(POD_RULE);
      assert.equal(podParents.length, 1, `one thread for the pod\n${state()}`);
      assert.match(JSON.stringify(podParents[0].blocks), new RegExp(uid.slice(0, 8)));
      const patches = f.patches();
      assert.equal(patches.length, 1, `one scale PATCH: ${JSON.stringify(patches)}`);
      assert.equal(patches[0].path, '/apis/apps/v1/namespaces/shop/deployments/web/scale');
      assert.deepEqual(patches[0].body, { spec: { replicas: 3 } });
      assert.equal(f.kube.replicas.get('deployments/shop/web'), 3);

      // (b) node level: two incidents, two threads, each naming its host.
      const nodeParents = f.parents(NODE_RULE);
      assert.equal(nodeParents.length, 2, `one thread per host\n${state()}`);
      const hostsShown = nodeParents.map((m) =>
        /node-a/.test(m.text) ? 'node-a' : /node-b/.test(m.text) ? 'node-b' : '?',
      );
      assert.deepEqual(hostsShown.sort(), ['node-a', 'node-b'], nodeParents.map((m) => m.text).join('\n'));

      // (c) the restart changed nothing; the held post never reached Slack (it went through the survivor).
      assert.deepEqual(
        { parents: f.slack.parents().length, posts: f.slack.calls('chat.postMessage').length },
        before,
        `the restarted engine posted again\n${state()}`,
      );
      assert.equal(f.slack.parents().length, 3);
      assert.equal(f.patches().length, 1, 'the restarted engine did not scale again');

      // The pod's bundles (each engine that captured it wrote one) name the host that wrote them.
      const manifests = f.engines.flatMap((e) => {
        const dir = join(f.dir, e.host.name, 'bundles');
        return (existsSync(dir) ? readdirSync(dir) : [])
          .filter((b) => existsSync(join(dir, b, 'manifest.json')))
          .map((b) => ({ host: e.host.name, m: JSON.parse(readFileSync(join(dir, b, 'manifest.json'), 'utf8')) }));
      });
      assert.ok(manifests.length >= 1, `a bundle of the pod\n${state()}`);
      for (const { host, m } of manifests) assert.equal(m.host.name, host, JSON.stringify(m.host));

      // Each host keeps its rule state under its own name.
      const keys = execFileSync('redis-cli', ['-p', String(f.redis.port), '--raw', 'keys', 'tripline:rules:state:*'], {
        encoding: 'utf8',
      })
        .split('\n')
        .filter(Boolean)
        .sort();
      assert.deepEqual(keys, ['tripline:rules:state:node-a', 'tripline:rules:state:node-b']);
      t.diagnostic(
        `engines running ${running - started} ms after start; all delivered ${delivered - killedAt} ms after the kill; total ${Date.now() - started} ms`,
      );
      ok = true;
    } finally {
      if (!ok) t.diagnostic(`kept ${f.dir} (engine logs, configs)`);
      await f.close(!ok);
    }
  },
  { timeout: 180_000 },
);

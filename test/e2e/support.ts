/**
 * End-to-end harness: a real redis-server, the local Slack and Kubernetes servers, the real engine with the
 * bundled rules (rules/), and pod-like cgroups at kubelet cgroupfs paths (`/kubepods/burstable/pod<uid>/<id>`)
 * with real busy loops. It records the engine's events, and `close()` releases everything it started
 * (processes, cgroups including the parents it made, engine, servers, Redis), also after a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { buildConfig } from '../../src/config.ts';
import { Engine, type CaptureEvent } from '../../src/engine.ts';
import { RULES_DIR } from '../../src/paths.ts';
import type { Incident } from '../../src/incident.ts';
import { createLogger } from '../../src/log.ts';
import type { JobSettled } from '../../src/actions/queue.ts';
import { createCgroup, type ManagedCgroup } from '../../src/demo/cgroup-admin.ts';
import { findCpuMount } from '../../src/probes/cgroup-mount.ts';
import type { Tick } from '../../src/samples.ts';
import { FakeKube } from '../support/fake-kube.ts';
import { FakeSlack } from '../support/fake-slack.ts';
import { startRedis, type TestRedis } from '../support/redis.ts';

/** The bundled rule both scenarios trip. */
export const RULE = 'cpu-throttling';
/** Slack channel the engine posts to. */
export const CHANNEL = '#e2e-incidents';

/** Polls `probe` every 250 ms until it returns a value other than undefined/false; throws with `state()` on timeout. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined | false,
  state: () => string = () => '',
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until)
      throw new Error(
        `timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}${state() ? ` (${state()})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Busy jiffies and all jiffies of each CPU, from /proc/stat. */
function cpuTimes(): { busy: number; total: number }[] {
  return readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((l) => /^cpu\d+ /.test(l))
    .map((l) => {
      const v = l.trim().split(/\s+/).slice(1).map(Number);
      const total = v.reduce((a, b) => a + b, 0);
      return { busy: total - v[3] - (v[4] ?? 0), total };
    });
}

/**
 * The CPU least busy over `ms` (ties: the lowest number). Pinning a contention scenario there keeps it from
 * sharing its CPU with another pinned load (the demo and other kernel tests pin to CPU 0), which would stretch
 * the victim's wait between runs so far that its delays, though longer, become rarer than the rule's rate.
 */
export async function idlestCpu(ms = 1000): Promise<number> {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTimes();
  let best = 0;
  let bestShare = Infinity;
  b.forEach((x, i) => {
    const share = (x.busy - a[i].busy) / Math.max(1, x.total - a[i].total);
    if (share < bestShare) {
      best = i;
      bestShare = share;
    }
  });
  return best;
}

/**
 * A host-wide lock (a file in the temp dir holding the owner's pid; a dead owner's lock is taken over), so that
 * concurrent runs of a scenario, e.g. from two clones of the repository, do not crowd the same CPU. Waits up to
 * `waitMs`; returns the release function, or undefined when the wait ran out (the caller carries on unlocked).
 */
export async function hostLock(name: string, waitMs: number): Promise<(() => void) | undefined> {
  const file = join(tmpdir(), `tripline-e2e-${name}.lock`);
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => {
        try {
          if (readFileSync(file, 'utf8') === String(process.pid)) rmSync(file);
        } catch {
          /* gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = 0;
    try {
      owner = Number(readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    let alive = owner > 0;
    try {
      if (alive) process.kill(owner, 0);
    } catch (err) {
      alive = (err as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!alive) {
      try {
        rmSync(file);
      } catch {
        /* another waiter took it over */
      }
      continue;
    }
    if (Date.now() > until) return undefined;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** A deployment's pod as a cgroup: the kubelet's cgroupfs layout, so the engine labels it with pod_uid and container_id. */
export interface PodCgroup {
  readonly cg: ManagedCgroup;
  readonly podUid: string;
  readonly containerId: string;
}

/** One end-to-end world; `start()` it, `close()` it in finally. */
export class E2eWorld {
  readonly dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-e2e-`));
  readonly slack = new FakeSlack();
  readonly kube = new FakeKube();
  redis?: TestRedis;
  engine?: Engine;
  /** Recorded engine events, in order. */
  readonly incidents: Incident[] = [];
  readonly actions: JobSettled[] = [];
  readonly captures: CaptureEvent[] = [];
  /** cgroup id → time of the first tick with a run-queue delay over the threshold or a throttled period. */
  readonly firstOver = new Map<string, number>();
  /** cgroup id → run-queue delays over the threshold per second, one entry per tick (last 120). */
  readonly overRate = new Map<string, number[]>();
  readonly #watched = new Set<string>();
  /** Cgroups this world owns, in creation order; removed in reverse. */
  readonly #cgroups: ManagedCgroup[] = [];
  readonly #procs: ChildProcess[] = [];
  /** Parents of pod cgroups, possibly shared with other tests (/kubepods, /kubepods/burstable); deepest last. */
  readonly #parents: ManagedCgroup[] = [];
  readonly #binDir = join(this.dir, 'bin');
  #log?: WriteStream;
  #starting?: Promise<unknown>;
  #savedToken?: string;
  /** Rule folders the engine loads (default: the bundled rules/). */
  readonly #rules: readonly string[];

  constructor(opts: { rules?: readonly string[] } = {}) {
    this.#rules = opts.rules ?? [RULES_DIR];
  }

  /** Starts Redis, the Slack and Kubernetes servers and the engine; resolves after the engine's first tick. */
  async start(): Promise<this> {
    this.redis = await startRedis();
    await this.slack.start();
    await this.kube.start();
    // The actions read the token from the process environment (the queue's ActionContext.env).
    this.#savedToken = process.env.SLACK_BOT_TOKEN;
    process.env.SLACK_BOT_TOKEN = this.slack.token;
    const config = buildConfig(
      {
        listen: '127.0.0.1:0',
        rules: [...this.#rules],
        data_dir: join(this.dir, 'data'),
        redis: { url: this.redis.url },
        slack: { api_url: this.slack.url, channel: CHANNEL, group_wait: '1s' },
        // node-1 is the stand-in's node: the network side's pod cache lists and watches its pods.
        kubernetes: { api_url: this.kube.url, node_name: 'node-1' },
      },
      { SLACK_BOT_TOKEN: this.slack.token },
    );
    this.#log = createWriteStream(join(this.dir, 'engine.log'));
    this.engine = new Engine({ config, log: createLogger('info', this.#log), watchRules: false });
    this.engine.on('incident', (i) => this.incidents.push(i));
    this.engine.on('action', (s) => this.actions.push(s));
    this.engine.on('capture', (c) => this.captures.push(c));
    let ticked = false;
    this.engine.on('tick', (t) => {
      ticked = true;
      this.#onTick(t);
    });
    this.#starting = this.engine.start();
    await this.#starting;
    await waitFor("the engine's first tick", 30_000, () => ticked);
    return this;
  }

  /** Base URL of the engine's HTTP server. */
  get api(): string {
    return `http://${this.engine!.address!.host}:${this.engine!.address!.port}`;
  }

  /** The engine's data_dir (its API token is there). */
  get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** Where the engine logs (kept when a test fails). */
  get logFile(): string {
    return join(this.dir, 'engine.log');
  }

  /** Records the first over-threshold tick of a cgroup (see firstOver). */
  watch(cgroupId: string): void {
    this.#watched.add(cgroupId);
  }

  #onTick(t: Tick): void {
    const over = new Map<string, number>();
    for (const s of t.samples) {
      const id = s.labels.cgroup_id;
      if (id === undefined || !this.#watched.has(id) || s.kind !== 'counter') continue;
      if (s.signal === 'runq_delay_over_threshold') over.set(id, (over.get(id) ?? 0) + s.delta);
      if (
        (s.signal === 'runq_delay_over_threshold' || s.signal === 'cpu_throttled_periods') &&
        s.delta > 0 &&
        !this.firstOver.has(id)
      )
        this.firstOver.set(id, Date.now());
    }
    for (const id of this.#watched) {
      const list = this.overRate.get(id) ?? [];
      list.push((over.get(id) ?? 0) / ((t.intervalMs || 1000) / 1000));
      if (list.length > 120) list.shift();
      this.overRate.set(id, list);
    }
  }

  /** Mean over-threshold delays per second of a watched cgroup in its last `n` ticks (the rule's rate condition). */
  meanOverRate(cgroupId: string, n = 30): number {
    const list = (this.overRate.get(cgroupId) ?? []).slice(-n);
    return list.length ? list.reduce((a, b) => a + b, 0) / list.length : 0;
  }

  /** A Deployment `name` with `replicas`, its ReplicaSet and one pod, in the fake cluster; returns the pod's uid. */
  deployment(namespace: string, name: string, replicas: number): string {
    // The kubelet writes the uid into the cgroup path, so it must be a real (hex) uid; the fake's own are not.
    const [fakeUid] = this.kube.addDeployment(namespace, name, replicas, 1);
    const pod = [...this.kube.pods.values()].find((p) => p.metadata.uid === fakeUid)!;
    pod.metadata.uid = randomUUID();
    return pod.metadata.uid;
  }

  /** The cgroup of a container of pod `podUid` at /kubepods/burstable/pod<uid>/<64 hex>; parents made only when missing. */
  podCgroup(podUid: string, quotaCores?: number): PodCgroup {
    this.#live();
    const containerId = randomBytes(32).toString('hex');
    const segs = ['kubepods', 'burstable', `pod${podUid}`];
    for (let attempt = 1; ; attempt++) {
      try {
        // Parents may exist already (another test's pod): createCgroup takes an existing directory as it is.
        for (let i = 1; i <= segs.length; i++) this.#parents.push(createCgroup({ name: segs.slice(0, i).join('/') }));
        const cg = createCgroup({ name: `${segs.join('/')}/${containerId}`, quotaCores, periodUs: 100_000 });
        this.#cgroups.push(cg);
        return { cg, podUid, containerId };
      } catch (err) {
        // Another test's close may have removed a shared parent between our mkdirs: once more.
        if (attempt >= 3) throw err;
      }
    }
  }

  /** A uniquely named cgroup at the top of the hierarchy, with `weight` times the default CPU weight. */
  plainCgroup(suffix: string, weight = 1): ManagedCgroup {
    this.#live();
    const cg = createCgroup({ name: `tripline-test-${process.pid}-${randomBytes(3).toString('hex')}-${suffix}` });
    this.#cgroups.push(cg);
    const mount = findCpuMount();
    if (weight !== 1) {
      if (mount.version === 1) writeFileSync(join(cg.dirs[0], 'cpu.shares'), String(1024 * weight));
      else writeFileSync(join(cg.dirs[0], 'cpu.weight'), String(Math.min(10000, 100 * weight)));
    }
    return cg;
  }

  /**
   * A shell busy loop named `comm` (the kernel names a task after the file it runs, so /bin/sh runs through a
   * symlink of that name), pinned to `cpu` when given, moved into `cg`. Returns its pid.
   */
  busy(cg: ManagedCgroup, comm: string, cpu?: number): number {
    this.#live();
    const exe = join(this.#binDir, comm);
    if (!existsSync(exe)) {
      mkdirSync(this.#binDir, { recursive: true });
      symlinkSync('/bin/sh', exe);
    }
    const loop = ['-c', 'while :; do :; done'];
    const child =
      cpu === undefined
        ? spawn(exe, loop, { stdio: 'ignore' })
        : spawn('taskset', ['-c', String(cpu), exe, ...loop], { stdio: 'ignore' });
    child.on('error', () => {
      /* the missing pid below says it */
    });
    if (child.pid === undefined) throw new Error(`cannot start the busy loop ${comm}`);
    this.#procs.push(child);
    cg.addPid(child.pid);
    return child.pid;
  }

  /** Kills the busy loops (the incident then resolves). */
  stopLoad(): void {
    for (const p of this.#procs) {
      try {
        p.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  /** Settled jobs of one incident (by key), optionally of one action type and event. */
  settled(key: string, type?: string, event?: string): JobSettled[] {
    return this.actions.filter(
      (s) => s.job.incident.key === key && (!type || s.job.spec.type === type) && (!event || s.job.event === event),
    );
  }

  /** One line of what happened so far, for timeout messages. */
  describe(): string {
    const inc = this.incidents.map((i) => `${i.status} ${i.rule} ${i.labels.cgroup ?? i.key}`).join('; ');
    const act = this.actions
      .map((s) => `${s.job.spec.type}/${s.job.event}: ${s.state === 'completed' ? s.summary : `FAILED ${s.reason}`}`)
      .join('; ');
    const rates = [...this.#watched].map((id) => `${id}: ${this.meanOverRate(id).toFixed(1)}/s`).join(', ');
    return `over-threshold delays (last 30 ticks) ${rates}; incidents: [${inc}] captures: [${this.captures.map((c) => c.phase).join(',')}] actions: [${act}] slack: ${this.slack.requests.map((r) => r.method).join(',')} kube: ${this.kube.calls.map((c) => `${c.method} ${c.path}`).join(',')}; engine log ${this.logFile}`;
  }

  #closing?: Promise<void>;
  /** Released by close() (host locks taken for this world). */
  readonly #releases: (() => void)[] = [];

  /** Holds a host lock (see hostLock) until close(); false when the wait ran out. */
  async lock(name: string, waitMs: number): Promise<boolean> {
    const release = await hostLock(name, waitMs);
    if (release) this.#releases.push(release);
    return release !== undefined;
  }

  /** A closed world (its test aborted) makes nothing more: it would never be released. */
  #live(): void {
    if (this.#closing) throw new Error('the e2e world is closed (test aborted)');
  }

  /** Releases everything, in reverse order of need; idempotent, never throws. `keep` leaves the temp dir (logs, bundles) for a failed run. */
  close(keep = false): Promise<void> {
    this.#closing ??= this.#close(keep);
    return this.#closing;
  }

  async #close(keep: boolean): Promise<void> {
    this.stopLoad();
    // A stop during the engine's start (a test aborted early) waits for the start; a stop that hangs must not
    // keep the cgroups, servers and Redis below from being released.
    await this.#starting?.catch(() => undefined);
    await Promise.race([this.engine?.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 30_000).unref())]);
    await this.slack.stop().catch(() => undefined);
    await this.kube.stop().catch(() => undefined);
    await this.redis?.stop().catch(() => undefined);
    if (this.#savedToken === undefined) delete process.env.SLACK_BOT_TOKEN;
    else process.env.SLACK_BOT_TOKEN = this.#savedToken;
    for (const cg of this.#cgroups.splice(0).reverse()) {
      try {
        cg.destroy();
      } catch {
        /* reported by the next run's leftovers check */
      }
    }
    // Shared parents (/kubepods/...): whoever leaves last removes them; the kernel refuses rmdir of a cgroup
    // that still has children or tasks, so another test's pods are safe.
    for (const cg of this.#parents.splice(0).reverse()) {
      for (const d of [...cg.dirs].reverse()) {
        try {
          rmdirSync(d);
        } catch {
          /* still in use, or gone */
        }
      }
    }
    for (const release of this.#releases.splice(0)) release();
    await new Promise<void>((r) => (this.#log ? this.#log.end(() => r()) : r()));
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs `fn` with a started world, closing it afterwards; on failure the world's temp dir is kept and named. */
export async function withWorld(t: TestContext, fn: (w: E2eWorld) => Promise<void>): Promise<void> {
  const w = new E2eWorld();
  let ok = false;
  // A test that times out is abandoned, not unwound: release the world at once, not when its waits run out.
  const onAbort = (): void => {
    t.diagnostic(`aborted: kept ${w.dir}`);
    void w.close(true);
  };
  t.signal.addEventListener('abort', onAbort, { once: true });
  try {
    await w.start();
    await fn(w);
    ok = true;
  } finally {
    t.signal.removeEventListener('abort', onAbort);
    if (!ok) t.diagnostic(`kept ${w.dir} (engine log, bundles) for the failed run`);
    await w.close(!ok);
  }
}

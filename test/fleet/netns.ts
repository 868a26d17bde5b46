/**
 * Network namespaces for fleet tests: one namespace per simulated host, joined to the root namespace by a veth pair
 * (10.231.<n>.1 on the root side, .2 inside), named `tl2h-<test pid>-<random>-<host>` so that a run never meets a
 * leftover of another: `sweepLeftovers()` removes those whose test process is dead. In the namespace a forwarder
 * (forward.ts) serves the root namespace's Redis, Slack and Kubernetes stand-ins at their loopback ports, through a
 * `RootProxy` on the veth's root address; the proxy can hold requests (a host cut off mid-delivery).
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

const PREFIX = 'tl2h-';

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why this machine cannot run namespaced hosts (no `ip`/`nsenter`, not allowed), or undefined when it can. */
export function netnsUnavailable(): string | undefined {
  for (const tool of ['ip', 'nsenter']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed (iproute2, util-linux)`;
    }
  }
  const probe = `${PREFIX}${process.pid}-probe`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
  } catch (err) {
    return `cannot create a network namespace: ${(err as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Pids of the processes in namespace `ns`. */
export function nsPids(ns: string): number[] {
  try {
    return ip('netns', 'pids', ns).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function removeNs(ns: string): void {
  for (const pid of nsPids(ns)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  try {
    ip('netns', 'del', ns);
  } catch {
    /* gone */
  }
}

/** Removes the namespaces (and so their veths) of fleet test runs whose process is gone (killed runs). */
export function sweepLeftovers(): void {
  let list = '';
  try {
    list = ip('netns', 'list');
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const m = /^(tl2h-(\d+)-\S+)/.exec(line);
    if (m && !alive(Number(m[2]))) removeNs(m[1]);
  }
}

/** One simulated host: its namespace and the two ends of its veth. */
export interface NetHost {
  readonly name: string;
  readonly ns: string;
  /** Root-side address of the veth (where the root proxy listens). */
  readonly rootAddress: string;
  readonly nsAddress: string;
}

/** Creates a namespace with lo up and a veth to the root namespace on a free 10.231.<n>.0/30. */
export function createHost(name: string): NetHost {
  const tag = randomBytes(2).toString('hex');
  const ns = `${PREFIX}${process.pid}-${tag}-${name}`;
  // Interface names are at most 15 bytes.
  const rootIf = `tl${tag}${name.slice(-1)}r`;
  const nsIf = `tl${tag}${name.slice(-1)}n`;
  const used = ip('-4', '-o', 'addr', 'show');
  let n = 0;
  for (let i = 0; i < 50; i++) {
    const c = 1 + Math.floor(Math.random() * 250);
    if (!used.includes(`10.231.${c}.`)) {
      n = c;
      break;
    }
  }
  if (!n) throw new Error('no free 10.231.<n>.0/30 subnet for a test host');
  ip('netns', 'add', ns);
  try {
    ip('link', 'add', rootIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', ns);
    ip('addr', 'add', `10.231.${n}.1/30`, 'dev', rootIf);
    ip('link', 'set', rootIf, 'up');
    ip('-n', ns, 'addr', 'add', `10.231.${n}.2/30`, 'dev', nsIf);
    ip('-n', ns, 'link', 'set', nsIf, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  } catch (err) {
    removeNs(ns);
    throw err;
  }
  return { name, ns, rootAddress: `10.231.${n}.1`, nsAddress: `10.231.${n}.2` };
}

/** Kills every process left in the host's namespace and deletes it (its veth goes with it). Never throws. */
export function destroyHost(h: NetHost): void {
  removeNs(h.ns);
}

/**
 * Spawns `cmd` in the host's network namespace only (nsenter --net: unlike `ip netns exec`, it leaves the mounts
 * alone, so /sys/fs/cgroup and the BPF file systems stay the host's).
 */
export function spawnIn(h: NetHost, cmd: string, args: string[], opts: SpawnOptions): ChildProcess {
  return spawn('nsenter', [`--net=/run/netns/${h.ns}`, '--', cmd, ...args], opts);
}

/** Starts the forwarder (forward.ts) in the namespace for `ports`; resolves when it listens. */
export async function startForwarder(h: NetHost, ports: number[]): Promise<ChildProcess> {
  const script = join(import.meta.dirname, 'forward.ts');
  const node = join(import.meta.dirname, '..', '..', 'scripts', 'node');
  const child = spawnIn(h, node, [script, h.rootAddress, ...ports.map(String)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`forwarder in ${h.ns} not ready in 20 s: ${out}`)), 20_000);
    child.stdout!.on('data', (d) => {
      if (String(d).includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`forwarder in ${h.ns} exited ${code}: ${out}`));
    });
  });
  return child;
}

/** A request a RootProxy held back instead of forwarding. */
export interface HeldRequest {
  readonly host: string;
  /** The bytes the client sent on that connection (first 64 KiB). */
  text: string;
}

/**
 * Forwards <root address>:<port> to 127.0.0.1:<port> for each port (the stand-ins listen on loopback). `hold`,
 * when set, is asked about each chunk a client sends; true cuts that connection off there: nothing more of it
 * reaches the stand-in (as a host that loses its network mid-request), and the request is kept in `held`.
 */
export class RootProxy {
  readonly held: HeldRequest[] = [];
  hold?: (chunk: string) => boolean;
  readonly #servers: Server[] = [];
  readonly #sockets = new Set<Socket>();
  readonly host: NetHost;

  constructor(host: NetHost) {
    this.host = host;
  }

  async listen(ports: number[]): Promise<this> {
    for (const port of ports) {
      const server = createServer((client) => this.#connection(client, port));
      this.#servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, this.host.rootAddress, () => resolve());
      });
    }
    return this;
  }

  #connection(client: Socket, port: number): void {
    const upstream = connect(port, '127.0.0.1');
    this.#sockets.add(client).add(upstream);
    let held: HeldRequest | undefined;
    client.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      if (held) {
        if (held.text.length < 65536) held.text += text;
        return;
      }
      if (this.hold?.(text)) {
        held = { host: this.host.name, text };
        this.held.push(held);
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!held) client.write(chunk);
    });
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', close);
      s.on('close', close);
    }
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await Promise.all(this.#servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
  }
}

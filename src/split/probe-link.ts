/**
 * The probe side's end of the privilege split: starts the network side (setpriv, on a host) or waits for it on a
 * Unix socket (the network pod, src/split/socket-dir.ts), says hello with the frozen config and the API token, then forwards incident
 * reports, the rules' actions and readiness, and answers the network side's requests (metrics text, silences, a
 * rule's signal re-read for scale verification) from its own parts. Everything the network side sends is validated by the channel before it gets here; what it
 * may ask is only that narrow list. When the network side goes away, `onGone` is called (the service restarts).
 */
import { chmodSync, chownSync, mkdirSync, rmSync, statSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { TriplineError } from '../errors.ts';
import type { IncidentReport } from '../pipeline/events.ts';
import type { SilenceService } from '../rules/silence-service.ts';
import type { SignalQuery, SignalReading } from '../signal-read.ts';
import type { PodSnapshot } from '../pod-meta.ts';
import type { CaptureRequests } from '../pipeline/capture-requests.ts';
import { Channel } from './channel.ts';
import { coalesce } from './coalesce.ts';
import { CHANNEL_VERSION, NET_TO_PROBE, PROBE_TO_NET, type NetToProbe, type ProbeToNet } from './messages.ts';
import type { RuleActions } from './network-side.ts';
import { listenSafely } from './socket-dir.ts';
import { networkUser, spawnNetworkSide, type UserIds } from './spawn.ts';

/** What the probe side offers the network side. */
export interface ProbeLinkOptions {
  readonly config: Readonly<Config>;
  readonly log: Logger;
  readonly apiToken: string;
  /** Where the network side serves /metrics (`tripline run --listen`). @defaultValue config.listen */
  readonly listen?: string;
  /** The bundles folder (absolute): made setgid to the network side's group, so it can read bundles. */
  readonly bundlesDir: string;
  /** The probe side's /metrics text (sampler, families, rules, captures). */
  readonly metrics: () => Promise<{ text: string; contentType: string }>;
  readonly silences: SilenceService;
  /** A rule's conditions for some of its series (`signal.read`, scale verification). @defaultValue "rule not found" */
  readonly readSignal?: (query: SignalQuery) => SignalReading;
  /** The pods on this node after each change of the network side's pod cache (validated): the names of cgroups. */
  readonly onPods?: (snapshot: PodSnapshot) => void;
  /** Captures the network side asks for (capture.request, capture.extend). @defaultValue refused */
  readonly captures?: Pick<CaptureRequests, 'request' | 'extend'>;
  /** The network side is gone (exited, or closed the channel) while the probe side runs. */
  readonly onGone: (why: string) => void;
}

/** Where the network side keeps its own state (Slack threads, in-process queue state, the Slack file sink). */
export const NETWORK_DATA_DIR = 'network';
/** Re-reads of a rule's value the network side may ask for per second (the scale action asks a few per incident). */
const SIGNAL_READS_PER_SECOND = 20;
/** Pod snapshots are applied at most this often (the network side already debounces; a flood is coalesced here). */
const POD_SNAPSHOT_MIN_INTERVAL_MS = 250;

/** The running link. */
export class ProbeLink {
  readonly #o: ProbeLinkOptions;
  readonly #channel: Channel<NetToProbe, ProbeToNet>;
  readonly #child?: ChildProcess;
  readonly #server?: Server;
  #closing = false;
  /** Where the network side serves /metrics (and /api unless apart). */
  readonly address: Promise<{ host: string; port: number }>;

  private constructor(o: ProbeLinkOptions, sock: Socket, child?: ChildProcess, server?: Server) {
    this.#o = o;
    this.#child = child;
    this.#server = server;
    this.#channel = new Channel(sock, {
      inbound: NET_TO_PROBE,
      outbound: PROBE_TO_NET,
      replies: {},
      onInvalid: (reason) => o.log.warn({ reason }, 'channel: message from the network side dropped'),
    });
    const ch = this.#channel;
    ch.on('metrics', () => o.metrics());
    ch.on('silences.list', async () => ({ silences: await o.silences.list() }));
    ch.on('silences.add', async ({ spec }) => ({ silence: await o.silences.add(spec) }));
    ch.on('silences.remove', async ({ id }) => ({ removed: await o.silences.remove(id) }));
    ch.on('suppressed.list', async () => ({ suppressed: await o.silences.suppressed() }));
    // The network side is the side to distrust: what it asks of this side is bounded in rate, not only in size.
    const reads = { windowAt: 0, n: 0 };
    ch.on('signal.read', async (q) => {
      const now = Date.now();
      if (now - reads.windowAt >= 1000) Object.assign(reads, { windowAt: now, n: 0 });
      if (++reads.n > SIGNAL_READS_PER_SECOND)
        throw new TriplineError('CHANNEL_ERR_BUSY', `signal.read: over ${SIGNAL_READS_PER_SECOND} per second`);
      return o.readSignal
        ? o.readSignal(q)
        : { found: false, matched: -1, series: 0, at: now, leaves: [], breaching: null };
    });
    ch.on('capture.request', async (r) =>
      o.captures ? o.captures.request(r) : { accepted: false, code: 'busy', reason: 'captures are off on this engine' },
    );
    ch.on('capture.extend', async (r) =>
      o.captures ? o.captures.extend(r) : { extended: false, code: 'unknown', reason: 'captures are off' },
    );
    ch.on(
      'pods',
      coalesce(POD_SNAPSHOT_MIN_INTERVAL_MS, (snapshot: PodSnapshot) => o.onPods?.(snapshot)),
    );
    let gone: (why: string) => void = () => {};
    this.address = new Promise((resolve, reject) => {
      ch.on('listening', (a) => resolve(a));
      gone = (why) =>
        reject(
          new TriplineError('CHANNEL_ERR_CLOSED', `the network side did not start: ${why}`, {
            hint: 'its log lines above say why (a port in use, a Redis it cannot reach, …)',
          }),
        );
    });
    this.address.catch(() => undefined); // also reported through onGone
    let reported = false;
    const onGone = (why: string): void => {
      gone(why);
      if (this.#closing || reported) return;
      reported = true;
      o.onGone(why);
    };
    ch.onClose((why) => onGone(`the network side closed the channel: ${why}`));
    child?.once('exit', (code, signal) => onGone(`the network side exited (${signal ?? `code ${code}`})`));
  }

  /**
   * Starts the network side (or, with `network.channel`, waits up to `acceptMs` for it to connect) and says hello.
   * Throws ENGINE_ERR_PRIVILEGE naming what is missing (the user, setpriv). The default wait outlasts the
   * kubelet's longest crash-loop backoff (300 s) of a network pod restarting after this side went away.
   */
  static async open(o: ProbeLinkOptions, acceptMs = 360_000): Promise<ProbeLink> {
    const c = o.config;
    const user = networkUser(c.network.user);
    shareWith(user, c.data_dir, o.bundlesDir);
    let link: ProbeLink;
    if (c.network.channel) {
      const path = c.network.channel;
      const server = await listenSafely(path, user.gid);
      const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
      server.maxConnections = 1;
      o.log.info({ channel: path }, 'waiting for the network side to connect');
      const sock = await Promise.race([
        accepted,
        new Promise<never>((_, reject) =>
          setTimeout(
            () =>
              reject(
                new TriplineError(
                  'CHANNEL_ERR_TIMEOUT',
                  `no network side connected to ${path} within ${acceptMs / 1000} s`,
                  {
                    hint: 'start `tripline network --channel PATH` (the tripline-network pod on this node)',
                  },
                ),
              ),
            acceptMs,
          ).unref(),
        ),
      ]);
      link = new ProbeLink(o, sock, undefined, server);
    } else {
      const spawned = spawnNetworkSide(c.network.user);
      link = new ProbeLink(o, spawned.socket, spawned.child);
    }
    link.#channel.notify('hello', {
      version: CHANNEL_VERSION,
      host: c.host,
      pid: process.pid,
      config: networkConfig(c, o.bundlesDir, o.listen),
      apiToken: o.apiToken,
    });
    return link;
  }

  /** Tells the network side the loaded rules' actions (at start and after each accepted reload). */
  setRules(rules: readonly RuleActions[]): void {
    this.#channel.notify('rules', { rules: rules as never });
  }

  /** Hands an incident step to the network side. */
  report(r: IncidentReport): void {
    this.#channel.notify('incident', r as never);
  }

  /** The probe side's readiness, for /readyz. */
  setReady(ready: true | string): void {
    this.#channel.notify('ready', { ready });
  }

  /** Says goodbye (the network side flushes its queue and exits), waits for it up to `timeoutMs`, closes. */
  async close(timeoutMs = 15_000): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#channel.notify('bye', {});
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    } else {
      await new Promise<void>((resolve) => {
        this.#channel.onClose(() => resolve());
        setTimeout(resolve, timeoutMs).unref();
      });
    }
    this.#channel.close();
    this.#server?.close();
    if (this.#o.config.network.channel) rmSync(this.#o.config.network.channel, { force: true });
  }
}

/**
 * The config the network side runs with: the probe side's, with its own data folder (`<data_dir>/network`, owned by
 * its user) and the bundles folder spelled out (it reads bundles there and nowhere else).
 */
export function networkConfig(c: Readonly<Config>, bundlesDir: string, listen = c.listen): Record<string, unknown> {
  return {
    ...structuredClone(c),
    listen,
    data_dir: join(c.data_dir, NETWORK_DATA_DIR),
    bundles: { ...c.bundles, dir: bundlesDir },
  };
}

/**
 * Lets the network side's user reach what it needs and nothing else: `<data_dir>` 0750 and the bundles folder
 * setgid 2750, both group `user`'s (files in them stay the probe side's: rule state and the API token are 0600);
 * `<data_dir>/network` its own, 0700.
 */
function shareWith(user: UserIds, dataDir: string, bundlesDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o750 });
  mkdirSync(bundlesDir, { recursive: true, mode: 0o750 });
  const own = join(dataDir, NETWORK_DATA_DIR);
  mkdirSync(own, { recursive: true, mode: 0o700 });
  for (const [dir, mode] of [
    [dataDir, 0o750],
    [bundlesDir, 0o2750],
  ] as const) {
    if (statSync(dir).uid !== process.getuid?.()) continue; // not ours to change (a mount, another owner)
    chownSync(dir, process.getuid?.() ?? 0, user.gid);
    chmodSync(dir, mode);
  }
  chownSync(own, user.uid, user.gid);
  chmodSync(own, 0o700);
}

/**
 * `tripline network`: the network side of `tripline run`, without privileges. On a host the probe side starts it
 * itself (`--channel-fd 3`, through setpriv); in a Kubernetes pod it runs in its own container and connects to the
 * probe side's socket on a shared volume (`--channel PATH`). It exits when the channel closes: 0 after the probe
 * side said goodbye (queue flushed), 1 when the probe side vanished, so the service restarts as a whole.
 */
import { connect, Socket } from 'node:net';
import { Registry } from 'prom-client';
import { processMetrics } from '../metrics/process-metrics.ts';
import { buildConfig } from '../config.ts';
import { TriplineError } from '../errors.ts';
import { createLogger } from '../log.ts';
import type { CaptureExtendReply, CaptureReply } from '../capture/request-schema.ts';
import { Channel } from '../split/channel.ts';
import { NET_REPLIES, NET_TO_PROBE, PROBE_TO_NET } from '../split/messages.ts';
import { NetworkSide, type ProbeAccess } from '../split/network-side.ts';
import type { Silence } from '../rules/types.ts';
import type { SuppressedTrip } from '../rules/evaluate/suppress.ts';
import type { IncidentReport } from '../pipeline/events.ts';
import { parseFlags } from './args.ts';
import type { SignalReading } from '../signal-read.ts';

const USAGE =
  'tripline network (--channel-fd N | --channel PATH)   (started by `tripline run`, or in a pod of its own)';

/**
 * Connects to the probe side's socket, retrying while it is not there yet (the pods start in any order). The
 * default wait outlasts a probe pod restarting after the kubelet's longest crash-loop backoff (300 s) plus loading
 * its programs, so a restart of either pod never leaves the pair apart (docs/deploy.md).
 */
async function connectChannel(path: string, timeoutMs = 600_000): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect(path);
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    } catch (err) {
      if (Date.now() > deadline)
        throw new TriplineError(
          'CHANNEL_ERR_CLOSED',
          `cannot reach the probe side at ${path}: ${(err as Error).message}`,
          {
            hint: 'start the probe container with network.channel set to this path, on a volume both containers mount',
          },
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export async function main(argv: string[]): Promise<number> {
  let flags;
  try {
    flags = parseFlags(argv, { 'channel-fd': { type: 'string' }, channel: { type: 'string' } }, USAGE).values;
    if (!flags['channel-fd'] === !flags.channel)
      throw new TriplineError('CLI_ERR_USAGE', 'give one of --channel-fd, --channel', { hint: USAGE });
  } catch (err) {
    process.stderr.write(`tripline network: ${(err as TriplineError).describe()}\n`);
    return 2;
  }
  let log = createLogger('info');
  const sock = flags.channel
    ? await connectChannel(flags.channel)
    : new Socket({ fd: Number(flags['channel-fd']), readable: true, writable: true });
  const channel = new Channel(sock, {
    inbound: PROBE_TO_NET,
    outbound: NET_TO_PROBE,
    replies: NET_REPLIES,
    onInvalid: (reason) => log.warn({ reason }, 'channel: message dropped'),
  });
  const closed = new Promise<string>((resolve) => channel.onClose(resolve));
  const goodbye = new Promise<'bye'>((resolve) => channel.on('bye', () => resolve('bye')));
  // SIGTERM reaches both sides at once (systemd, the kubelet): wait for the probe side's goodbye, it stops first.
  process.on('SIGTERM', () => log.info({}, 'SIGTERM: waiting for the probe side to stop'));
  process.on('SIGINT', () => log.info({}, 'SIGINT: waiting for the probe side to stop'));

  const hello = await Promise.race([
    new Promise<{ config: Record<string, unknown>; apiToken: string; host: string }>((resolve) =>
      channel.on('hello', (h) => resolve(h)),
    ),
    closed.then((why) => {
      throw new TriplineError('CHANNEL_ERR_CLOSED', `the probe side closed the channel before its hello: ${why}`);
    }),
  ]).catch((err: TriplineError) => err);
  if (hello instanceof Error) {
    log.fatal({ err: hello.message }, 'network side cannot start');
    return 1;
  }
  const config = buildConfig(hello.config, {});
  log = createLogger(config.log.level);
  const probe: ProbeAccess = {
    metrics: async () => (await channel.request('metrics', {})) as { text: string; contentType: string },
    // The reply was validated against NET_REPLIES['signal.read'] by the channel.
    readSignal: async (q) => (await channel.request('signal.read', q)) as SignalReading,
    requestCapture: async (r) => (await channel.request('capture.request', r)) as CaptureReply,
    extendCapture: async (r) => (await channel.request('capture.extend', r)) as CaptureExtendReply,
    silences: {
      list: async () => ((await channel.request('silences.list', {})) as { silences: Silence[] }).silences,
      add: async (spec) => {
        try {
          return ((await channel.request('silences.add', { spec: spec as never })) as { silence: Silence }).silence;
        } catch (err) {
          // A refusal from the probe side (or an invalid body) is the caller's error: a 400 with the reason.
          throw new TriplineError(
            'RULE_ERR_SCHEMA',
            (err as Error).message.replace(/^(invalid )?silences\.add: (spec\.)?/, ''),
            {
              hint: 'fix the silence and send it again',
            },
          );
        }
      },
      remove: async (id) => ((await channel.request('silences.remove', { id })) as { removed: boolean }).removed,
      suppressed: async () =>
        ((await channel.request('suppressed.list', {})) as { suppressed: SuppressedTrip[] }).suppressed,
    },
  };
  const ownMetrics = new Registry();
  for (const m of processMetrics(config.metrics.prefix, 'network')) ownMetrics.registerMetric(m as never);
  const side = new NetworkSide({
    config,
    log,
    probe,
    apiToken: hello.apiToken,
    metricsRegistry: ownMetrics,
    persistState: true,
    // This node's pods, after each change of the pod cache: the probe side names cgroups with them.
    onPods: (snapshot) => channel.notify('pods', snapshot),
  });
  channel.on('rules', ({ rules }) => side.setRules(rules));
  channel.on('ready', ({ ready }) => side.setReady(ready));
  try {
    const address = await side.start(config.listen);
    // Reports that came while the queue opened were held by the channel: handled now, in order.
    channel.on('incident', (r) => side.record(r as IncidentReport));
    channel.notify('listening', address);
    log.info(
      {
        listen: `${address.host}:${address.port}`,
        api: side.apiAddress ? `${side.apiAddress.host}:${side.apiAddress.port}` : undefined,
        uid: process.getuid?.(),
      },
      'network side running',
    );
  } catch (err) {
    log.fatal(
      { err: err instanceof TriplineError ? err.describe() : (err as Error)?.message },
      'network side failed to start',
    );
    channel.close();
    return 1;
  }
  const why = await Promise.race([goodbye, closed]);
  await side.stop();
  channel.close();
  // Whatever a client library left open (sockets, timers) must not keep a stopped side alive.
  setTimeout(() => process.exit(), 1000).unref();
  if (why === 'bye') {
    log.info({}, 'network side stopped');
    return 0;
  }
  log.error({ reason: why }, 'the probe side is gone: exiting so the service restarts');
  return 1;
}

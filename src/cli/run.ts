/** `tripline run`: the engine in the foreground until SIGINT/SIGTERM; SIGHUP reloads the rules. */
import { loadConfig, type Config } from '../config.ts';
import { TriplineError } from '../errors.ts';
import { createLogger, logFormat, type LogFormat } from '../log.ts';
import { Engine } from '../engine.ts';
import { checkHost } from '../probes/host-checks.ts';
import { parseFlags } from './args.ts';

const USAGE = 'tripline run [--config FILE] [--listen HOST:PORT] [--no-bpf] [--log-format json|pretty]';

export async function main(argv: string[]): Promise<number> {
  let flags;
  let format: LogFormat;
  try {
    flags = parseFlags(
      argv,
      {
        config: { type: 'string' },
        listen: { type: 'string' },
        'no-bpf': { type: 'boolean' },
        'log-format': { type: 'string' },
      },
      USAGE,
    ).values;
    // The flag wins over the environment; neither: pretty on a terminal, JSON elsewhere.
    format = logFormat(flags['log-format'] ?? process.env.TRIPLINE_LOG_FORMAT);
  } catch (err) {
    process.stderr.write(`tripline run: ${(err as TriplineError).describe()}\n`);
    return 2;
  }
  const noBpf = flags['no-bpf'] === true;
  let config: Readonly<Config>;
  try {
    config = loadConfig(flags.config);
  } catch (err) {
    process.stderr.write(`tripline run: ${(err as TriplineError).describe?.() ?? String(err)}\n`);
    return 1;
  }
  if (!noBpf) {
    const failed = checkHost().filter((c) => c.required && !c.ok);
    if (failed.length) {
      for (const c of failed)
        process.stderr.write(`tripline run: ${c.name}: ${c.detail}${c.fix ? ` (fix: ${c.fix})` : ''}\n`);
      process.stderr.write(
        'tripline run: cannot run the eBPF counters here; `tripline run --no-bpf` keeps the file-based signals (cpu.stat, PSI)\n',
      );
      return 1;
    }
  }
  const log = createLogger(config.log.level, process.stderr, format);
  // The network side this process starts inherits the environment and stderr: it logs in the same format.
  process.env.TRIPLINE_LOG_FORMAT = format;
  let gone: ((why: string) => void) | undefined;
  // The network side (HTTP, API, actions) runs in its own unprivileged process; if it dies, so does the service.
  const engine = new Engine({
    config,
    configFile: flags.config,
    log,
    noBpf,
    split: true,
    onNetworkGone: (w) => gone?.(w),
  });
  process.on('unhandledRejection', (err) =>
    log.error({ err: (err as Error)?.stack ?? String(err) }, 'unhandled rejection (engine keeps running)'),
  );
  try {
    await engine.start(flags.listen ?? config.listen);
  } catch (err) {
    log.fatal({ err: err instanceof TriplineError ? err.describe() : (err as Error)?.stack }, 'engine failed to start');
    await engine.stop().catch(() => undefined);
    process.stderr.write(
      `tripline run: ${err instanceof TriplineError ? err.describe() : String((err as Error)?.message ?? err)}\n`,
    );
    return 1;
  }
  process.on('SIGHUP', () => {
    engine.reload();
  });
  return new Promise<number>((done) => {
    let stopping = false;
    const stop = (sig: string, code = 0): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal: sig }, 'stopping');
      // A stop that hangs (a wedged client library) must not keep a node's agent half-alive: exit all the same.
      setTimeout(() => {
        log.error({}, 'stop did not finish within 45 s: exiting');
        process.exit(1);
      }, 45_000).unref();
      engine.stop().then(
        () => done(code),
        (err) => {
          log.error({ err: (err as Error)?.message }, 'stop failed');
          done(1);
        },
      );
    };
    gone = () => stop('network side gone', 1);
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

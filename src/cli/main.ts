/** The `tripline` command: dispatches to one module per subcommand (src/cli/<name>.ts exporting `main`). */
import { TriplineError } from '../errors.ts';

/** Subcommands and their one-line help. Each module exports `main(argv: string[]): Promise<number>`. */
export const COMMANDS = {
  run: 'run the engine: counters, /metrics, rules, captures, actions',
  check: 'validate rule files: tripline check [PATH...]',
  test: 'run rule unit tests: tripline test [PATH...]',
  capture: 'capture by hand: tripline capture (--cgroup PATH | --pid PID) [--probes LIST] [--duration 10s] [--out DIR]',
  bundles: 'list or show bundles: tripline bundles list | show ID',
  actions: 'queues and failed jobs: tripline actions list | failed | retry ID | fire RULE [--label k=v]... [--dry-run]',
  probes: 'what this kernel supports, and why not',
  doctor: 'check kernel, BTF, capabilities, tracefs, cgroups, each with a fix',
  demo: 'see the whole loop on this host: tripline demo [--scenario limit|neighbour]',
  network:
    'the network side of `tripline run` (started by it, or in a pod of its own): tripline network --channel PATH',
} as const;

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return (
    'usage: tripline COMMAND [OPTIONS]\n\n' +
    Object.entries(COMMANDS)
      .map(([c, h]) => `  ${c.padEnd(width)}  ${h}`)
      .join('\n') +
    '\n'
  );
}

export async function dispatch(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(usage());
    return cmd ? 0 : 2;
  }
  if (cmd === '--version') {
    process.stdout.write('tripline 0.1.0\n');
    return 0;
  }
  if (!Object.hasOwn(COMMANDS, cmd)) {
    process.stderr.write(`tripline: unknown command ${JSON.stringify(cmd)}\n\n${usage()}`);
    return 2;
  }
  const mod = (await import(`./${cmd}.ts`)) as { main(argv: string[]): Promise<number> };
  return mod.main(rest);
}

const isMain = process.argv[1] && import.meta.filename === (await import('node:fs')).realpathSync(process.argv[1]);
if (isMain) {
  try {
    process.exitCode = await dispatch(process.argv.slice(2));
  } catch (err) {
    if (err instanceof TriplineError) process.stderr.write(`tripline: ${err.describe()}\n`);
    else process.stderr.write(`tripline: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}

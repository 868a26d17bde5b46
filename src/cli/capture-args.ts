/**
 * Flags of `tripline capture`, parsed strictly (pure): exactly one of --cgroup / --pid, a probe list of
 * registry tokens, a duration with a unit. Bad flags are CLI_ERR_USAGE (exit 2).
 */
import { parseDuration } from '../config.ts';
import { TriplineError } from '../errors.ts';
import { FAMILY_SPECS } from '../probes/counters/spec/index.ts';

/** Probes of a capture by hand without --probes: those a CPU incident gets (the cpustat family's defaults). */
export const MANUAL_PROBES: readonly string[] = FAMILY_SPECS.cpustat.defaultProbes;

export const CAPTURE_USAGE =
  'usage: tripline capture (--cgroup PATH | --pid PID) [--probes LIST] [--duration 10s] [--out DIR] [--config FILE]\n' +
  '  --cgroup PATH   cgroup of the cpu hierarchy, relative to its mount (e.g. /kubepods/pod1/c1) or absolute\n' +
  '  --pid PID       a process (repeat or comma-separate for several)\n' +
  `  --probes LIST   deep probes, comma-separated (default: ${MANUAL_PROBES.join(',')})\n` +
  '  --duration D    time box, e.g. 500ms, 10s (default: capture.duration of the config)\n' +
  '  --out DIR       bundles folder (default: bundles.dir of the config)\n';

export interface CaptureArgs {
  readonly cgroup?: string;
  readonly pids: readonly number[];
  readonly probes?: readonly string[];
  readonly durationMs?: number;
  readonly out?: string;
  readonly config?: string;
  readonly help: boolean;
}

const usage = (msg: string): TriplineError =>
  new TriplineError('CLI_ERR_USAGE', msg, { hint: CAPTURE_USAGE.split('\n')[0] });

/** Parses argv (after `capture`). Accepts `--flag value` and `--flag=value`. */
export function parseCaptureArgs(argv: readonly string[]): CaptureArgs {
  let cgroup: string | undefined,
    probes: string[] | undefined,
    durationMs: number | undefined,
    out: string | undefined,
    config: string | undefined;
  const pids: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') return { pids: [], help: true };
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (arg.startsWith('--') && eq > 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw usage(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--cgroup':
        cgroup = value();
        break;
      case '--pid':
        for (const p of value().split(',')) {
          if (!/^[1-9]\d{0,9}$/.test(p.trim())) throw usage(`--pid ${JSON.stringify(p)} is not a process id`);
          pids.push(Number(p.trim()));
        }
        break;
      case '--probes':
        probes = value()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        for (const p of probes)
          if (!/^[a-z][a-z0-9_]*$/.test(p)) throw usage(`--probes: ${JSON.stringify(p)} is not a probe name`);
        if (probes.length === 0) throw usage('--probes needs at least one probe name');
        break;
      case '--duration': {
        const v = value();
        try {
          durationMs = parseDuration(v);
        } catch {
          throw usage(`--duration ${JSON.stringify(v)}: write a number with a unit, e.g. 500ms or 10s`);
        }
        if (durationMs <= 0 || durationMs > 3_600_000) throw usage('--duration must be between 1ms and 1h');
        break;
      }
      case '--out':
        out = value();
        break;
      case '--config':
        config = value();
        break;
      default:
        throw usage(`unknown option ${JSON.stringify(arg)}`);
    }
  }
  if ((cgroup === undefined) === (pids.length === 0)) throw usage('pass exactly one of --cgroup PATH or --pid PID');
  return { cgroup, pids, probes, durationMs, out, config, help: false };
}

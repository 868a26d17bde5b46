/**
 * bpftrace (optional probe): runs a bpftrace program carried by the rule (`capture.options.bpftrace.program`) for
 * the time box and keeps its output. The target goes in as positional parameters, never into the program text:
 * `$1` = the first target pid, or the cgroup id when there are no pids; `$2` = the cgroup id (0 when none).
 * bpftrace compiles at start, so this probe attaches in seconds, not milliseconds; prefer the built-in probes.
 * Result: no stacks or records; `summary` { output (stdout, cut at the byte budget), attached (saw "Attaching"),
 * exitCode, signal, stderr (last 2 KiB) }.
 * Options: program (required, at most 64 KiB). The binary is the config's `capture.bpftrace_binary`, and a rule's
 * program runs only when the config sets `capture.allow_bpftrace_programs: true` (it runs as root, with the probe
 * side's capabilities); it gets a minimal environment (no token, no REDIS_URL).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { TriplineError } from '../../errors.ts';
import { parseOptions } from './options.ts';
import { checkTarget } from './target-map.ts';
import { DEFAULT_PROBE_SETTINGS, type CatalogProbe, type ProbeResult } from './types.ts';
import {} from './summary.ts';

/** Options of `capture.options.bpftrace`. */
export const bpftraceOptions = z
  .object({
    program: z
      .string()
      .min(1)
      .max(64 * 1024),
  })
  .strict();

/** Seconds bpftrace gets to print its maps after SIGINT before it is killed. */
const EXIT_GRACE_MS = 5000;

/** The environment bpftrace runs with: nothing of the engine's (no tokens, no REDIS_URL, no KUBECONFIG). */
export const BPFTRACE_ENV: Readonly<NodeJS.ProcessEnv> = Object.freeze({
  PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
});

/** `binary` when it runs (`--version`), or undefined. */
export function findBpftrace(binary: string): string | undefined {
  const r = spawnSync(binary, ['--version'], { stdio: 'ignore', timeout: 10_000, env: BPFTRACE_ENV });
  return r.status === 0 ? binary : undefined;
}

/** Positional parameters for a target: [$1, $2]. */
export function bpftraceArgs(target: {
  pids?: readonly number[];
  cgroupId?: bigint;
  cgroupIds?: readonly bigint[];
}): [string, string] {
  // A program takes one cgroup: of several contributors, the largest (first).
  const cg = (target.cgroupId ?? target.cgroupIds?.[0] ?? 0n).toString();
  return [target.pids?.length ? String(target.pids[0]) : cg, cg];
}

/** Shape of `ProbeResult.summary` (see the module comment). */
export const bpftraceSummary = z.object({
  output: z.string(),
  attached: z.boolean(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  stderr: z.string(),
});

/** The bpftrace deep probe. */
export const bpftrace = {
  name: 'bpftrace',
  description: 'A bpftrace program from the rule, run for the time box with the target as positional parameters',
  options: bpftraceOptions,
  summary: bpftraceSummary,
  budget: { maxEvents: 20_000, maxBytes: 4 << 20 },
  doc: {
    what: 'a bpftrace program from the rule',
    hooks: 'whatever the program uses',
    cost: "the program's",
  },
  prepare(ctx) {
    const settings = ctx.settings ?? DEFAULT_PROBE_SETTINGS;
    if (!settings.allowBpftracePrograms)
      throw new TriplineError('PROBE_ERR_CONFIG', 'bpftrace programs from rules are off in this engine', {
        hint: "a rule's program runs as root: set capture.allow_bpftrace_programs: true in the engine config to allow it",
      });
    const opts = parseOptions('bpftrace', bpftraceOptions, ctx.options);
    const bin = findBpftrace(settings.bpftraceBinary);
    if (!bin) {
      throw new TriplineError('PROBE_ERR_UNSUPPORTED', `bpftrace is not installed here (${settings.bpftraceBinary})`, {
        hint: 'install it (apt-get install -y bpftrace), set capture.bpftrace_binary, or drop the probe from the rule',
      });
    }
    const dir = mkdtempSync(join(tmpdir(), 'tripline-bt-'));
    const file = join(dir, 'program.bt');
    writeFileSync(file, opts.program, { mode: 0o600 });
    const cleanup = () => rmSync(dir, { recursive: true, force: true });
    return {
      close: cleanup,
      start(target, budget) {
        checkTarget('bpftrace', target);
        const startedAt = Date.now();
        const child = spawn(bin, [file, ...bpftraceArgs(target)], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: BPFTRACE_ENV,
          cwd: '/',
        });
        let out = '';
        let outDropped = 0;
        let err = '';
        let attached = false;
        let exitedAt = 0;
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          if (!attached && d.includes('Attaching')) attached = true;
          const room = budget.maxBytes - out.length;
          if (room > 0) out += d.slice(0, room);
          outDropped += Math.max(0, d.length - Math.max(room, 0));
        });
        child.stderr.setEncoding('utf8').on('data', (d: string) => {
          err = (err + d).slice(-2048);
        });
        const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
          child.on('exit', (code, signal) => {
            exitedAt = Date.now();
            resolve({ code, signal });
          });
          child.on('error', () => resolve({ code: null, signal: null }));
        });
        const interrupt = () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
        };
        const deadline = setTimeout(interrupt, budget.durationMs);
        deadline.unref();
        let result: Promise<ProbeResult> | undefined;
        const finish = async (partial: boolean): Promise<ProbeResult> => {
          clearTimeout(deadline);
          interrupt(); // SIGINT: bpftrace prints its maps and exits
          const kill = setTimeout(() => child.kill('SIGKILL'), EXIT_GRACE_MS);
          const { code, signal } = await exited;
          clearTimeout(kill);
          cleanup();
          const errors =
            code === 0
              ? []
              : [`bpftrace exited with ${code ?? signal}: ${err.trim().split('\n').slice(-3).join(' | ')}`];
          return {
            probe: 'bpftrace',
            startedAt,
            endedAt: exitedAt || Date.now(),
            partial: partial || outDropped > 0 || code !== 0,
            events: 0,
            dropped: outDropped,
            errors,
            summary: { output: out, attached, exitCode: code, signal, stderr: err },
            redactions: [],
          };
        };
        return { stop: (o = {}) => (result ??= finish(o.partial ?? false)) };
      },
    };
  },
} satisfies CatalogProbe & { options: typeof bpftraceOptions };

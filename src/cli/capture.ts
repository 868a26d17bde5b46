/**
 * `tripline capture (--cgroup PATH | --pid PID) [--probes LIST] [--duration 10s] [--out DIR]`: a capture by hand.
 * Attaches the deep probes to the target, runs for the time box (Ctrl-C cuts it: the bundle is written, partial),
 * prints the bundle folder on stdout and progress plus the headlines on stderr. Exit 0 done, 1 failed, 2 usage.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { loadConfig, parseDuration } from '../config.ts';
import { OBJ_DIR } from '../paths.ts';
import { TriplineError } from '../errors.ts';
import type { IncidentTarget } from '../incident.ts';
import type { DeepProbe } from '../probes/deep/types.ts';
import { findCpuMount } from '../probes/cgroup-mount.ts';
import { CaptureManager } from '../capture/manager.ts';
import { CAPTURE_USAGE, MANUAL_PROBES, parseCaptureArgs } from './capture-args.ts';

/** The deep probe catalog, loaded lazily: it pulls in libbpf, which only this command and the engine need. */
export async function loadDeepRegistry(): Promise<Readonly<Record<string, DeepProbe>>> {
  try {
    return (await import('../probes/deep/index.ts')).deepProbes;
  } catch (cause) {
    throw new TriplineError(
      'PROBE_ERR_UNSUPPORTED',
      `the deep probe catalog cannot be loaded: ${(cause as Error).message}`,
      { hint: 'run `tripline doctor`; the catalog is src/probes/deep/index.ts', cause },
    );
  }
}

/** The target of --cgroup (path → inode = cgroup id) or --pid (must exist). */
export function resolveTarget(cgroup: string | undefined, pids: readonly number[]): IncidentTarget {
  if (cgroup !== undefined) {
    const mount = findCpuMount();
    const dir =
      isAbsolute(cgroup) && cgroup.startsWith(mount.dir + '/') ? cgroup : join(mount.dir, normalize('/' + cgroup));
    let st;
    try {
      st = statSync(dir);
    } catch {
      st = undefined;
    }
    if (!st?.isDirectory())
      throw new TriplineError('CAPTURE_ERR_TARGET', `no cgroup ${cgroup} under ${mount.dir}`, {
        hint: `pass a folder of the cpu hierarchy (ls ${mount.dir})`,
      });
    return { cgroupId: String(st.ino), cgroupPath: dir.slice(mount.dir.length) || '/' };
  }
  for (const p of pids) {
    if (!existsSync(`/proc/${p}`))
      throw new TriplineError('CAPTURE_ERR_TARGET', `no process ${p}`, {
        hint: 'pass the pid of a running process (pgrep NAME)',
      });
  }
  return { pids: [...pids] };
}

/** Runs the command; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseCaptureArgs(argv);
  } catch (err) {
    process.stderr.write(`tripline capture: ${(err as Error).message}\n${CAPTURE_USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(CAPTURE_USAGE);
    return 0;
  }
  try {
    const config = loadConfig(args.config);
    const target = resolveTarget(args.cgroup, args.pids);
    const probes = args.probes ?? [...MANUAL_PROBES];
    const registry = await loadDeepRegistry();
    const unknown = probes.filter((p) => !Object.hasOwn(registry, p));
    if (unknown.length > 0) {
      process.stderr.write(
        `tripline capture: unknown probe ${unknown.join(', ')}; the catalog has: ${Object.keys(registry).sort().join(', ')}\n`,
      );
      return 2;
    }
    const manager = new CaptureManager({
      registry,
      objDir: OBJ_DIR,
      redact: config.bundles.redact,
      settings: (await import('../probes/deep/settings.ts')).probeSettings(config),
      bundlesDir: args.out ?? config.bundles.dir ?? join(config.data_dir, 'bundles'),
      maxConcurrent: 1,
      maxCpuPercent: config.capture.max_cpu_percent,
      defaultDurationMs: parseDuration(config.capture.duration),
      warm: [],
      enableStats: (await import('../probes/libbpf.ts')).enableStats,
    });
    const durationMs = args.durationMs ?? parseDuration(config.capture.duration);
    manager.on('attached', (a: { attached: string[]; tripToAttachMs: number }) => {
      process.stderr.write(
        `attached ${a.attached.join(', ') || 'nothing'} in ${a.tripToAttachMs} ms; capturing for ${durationMs / 1000} s (Ctrl-C stops early)\n`,
      );
    });
    const pending = manager.capture({ target, probes, durationMs });
    const onSignal = (): void => {
      process.stderr.write('stopping: writing a partial bundle\n');
      void manager.stop();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const ref = await pending;
      // The answer first: cause, culprit, number, and what to do; then the findings.
      const d = ref.findings.diagnosis;
      if (d?.lead) process.stderr.write(`${d.lead}\n  what to do: ${d.advice ?? ''}\n`);
      for (const h of ref.findings.headlines) if (h !== d?.lead) process.stderr.write(`  ${h}\n`);
      process.stdout.write(`${ref.dir}\n`);
      return 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await manager.stop();
    }
  } catch (err) {
    if (err instanceof TriplineError) {
      process.stderr.write(`tripline capture: ${err.describe()}\n`);
      return 1;
    }
    throw err;
  }
}

/**
 * The demo's workloads: real cgroups with real busy processes, and their clean-up (also on Ctrl-C).
 *   limit:     one cgroup with a CPU quota of 0.2 cores and two busy loops: throttled by its own limit.
 *   neighbour: a victim cgroup without quota (two busy loops) and a neighbour cgroup with 10× the CPU weight (one
 *              busy loop), all pinned to CPU 0: the victim waits while the neighbour runs.
 * Used by `tripline demo` and by the end-to-end tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCgroup, type ManagedCgroup } from './cgroup-admin.ts';
import { findCpuMount } from '../probes/cgroup-mount.ts';
import { TriplineError } from '../errors.ts';

export type Scenario = 'limit' | 'neighbour';

export interface Workload {
  readonly scenario: Scenario;
  /** The cgroup the rule should trip on. */
  readonly target: ManagedCgroup;
  /** The busy neighbour (neighbour scenario only). */
  readonly neighbour?: ManagedCgroup;
  /** Pids of the processes it started. */
  readonly pids: readonly number[];
  /** Kills the processes (the incident then resolves); the cgroups stay until cleanup(). */
  stopLoad(): void;
  /** Kills the processes and removes the cgroups. Idempotent; never throws. */
  cleanup(): void;
}

/**
 * A busy loop in its own process named `comm`; `cpu` pins it (taskset) to one CPU. The kernel names a task after
 * the file it executes, so /bin/sh is run through a symlink called `comm` (findings then show that name).
 */
function busy(binDir: string, comm: string, cpu?: number): ChildProcess {
  const exe = join(binDir, comm);
  if (!existsSync(exe)) symlinkSync('/bin/sh', exe);
  const loop = ['-c', 'while :; do :; done'];
  const cmd = cpu === undefined ? ([exe, loop] as const) : (['taskset', ['-c', String(cpu), exe, ...loop]] as const);
  const child = spawn(cmd[0], [...cmd[1]], { stdio: 'ignore', detached: false });
  child.on('error', () => {
    /* reported by the caller through the missing pid */
  });
  return child;
}

/** Sets the relative CPU weight of a cgroup (v1 cpu.shares, default 1024; v2 cpu.weight, default 100). */
function setWeight(cg: ManagedCgroup, factor: number): void {
  const mount = findCpuMount();
  if (mount.version === 1) writeFileSync(join(cg.dirs[0], 'cpu.shares'), String(1024 * factor));
  else writeFileSync(join(cg.dirs[0], 'cpu.weight'), String(Math.min(10000, 100 * factor)));
}

/** Starts a scenario's cgroups and processes. `tag` makes the cgroup names unique (e.g. the pid). */
export function startWorkload(scenario: Scenario, tag: string): Workload {
  const made: ManagedCgroup[] = [];
  const children: ChildProcess[] = [];
  const binDir = mkdtempSync(join(tmpdir(), 'tripline-demo-bin-'));
  const cleanupAll = (): void => {
    for (const c of children) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const cg of [...made].reverse()) {
      try {
        cg.destroy();
      } catch {
        /* reported by doctor */
      }
    }
    rmSync(binDir, { recursive: true, force: true });
  };
  try {
    const start = (cg: ManagedCgroup, comm: string, cpu?: number): void => {
      const child = busy(binDir, comm, cpu);
      if (child.pid === undefined)
        throw new TriplineError('PROBE_ERR_CONFIG', `cannot start the demo workload ${comm}`, {
          hint: 'bash and taskset (util-linux) must be installed',
        });
      children.push(child);
      cg.addPid(child.pid);
    };
    if (scenario === 'limit') {
      const target = createCgroup({ name: `tripline-demo-${tag}-app`, quotaCores: 0.2, periodUs: 100_000 });
      made.push(target);
      start(target, 'demo-app-worker');
      start(target, 'demo-app-worker');
      return workload(scenario, target, undefined);
    }
    const target = createCgroup({ name: `tripline-demo-${tag}-app` });
    made.push(target);
    const neighbour = createCgroup({ name: `tripline-demo-${tag}-batch` });
    made.push(neighbour);
    setWeight(neighbour, 10);
    start(neighbour, 'demo-batch-job', 0);
    // Two workers: each is scheduled out past 5 ms ~20 times a second, so the cgroup is well over the rule's 20/s.
    start(target, 'demo-app-worker', 0);
    start(target, 'demo-app-worker', 0);
    return workload(scenario, target, neighbour);
  } catch (err) {
    cleanupAll();
    throw err;
  }

  function workload(s: Scenario, target: ManagedCgroup, neighbour: ManagedCgroup | undefined): Workload {
    let stopped = false;
    return {
      scenario: s,
      target,
      neighbour,
      pids: children.map((c) => c.pid!),
      stopLoad() {
        if (stopped) return;
        stopped = true;
        for (const c of children) {
          try {
            c.kill('SIGKILL');
          } catch {
            /* gone */
          }
        }
      },
      cleanup() {
        stopped = true;
        cleanupAll();
      },
    };
  }
}

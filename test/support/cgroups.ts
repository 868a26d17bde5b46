/**
 * Real-cgroup test tier: tests that create cgroups with a CPU quota and run processes in them (no BPF needed).
 * They skip, saying why, when this host cannot create cgroups; with CI=true they fail instead.
 */
import { test, type TestContext } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { createCgroup, type CreateCgroupOptions, type ManagedCgroup } from '../../src/demo/cgroup-admin.ts';

/** A unique cgroup name for this test process: tripline-test-<pid>-<random>-<suffix>. */
export function testCgroupName(suffix: string): string {
  return `tripline-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}-${suffix}`;
}

/** Resources a cgroup test made; all released by `cleanup()`, also after a failure. */
export class CgroupFixture {
  private readonly cgroups: ManagedCgroup[] = [];
  private readonly procs: ChildProcess[] = [];

  /** Creates a uniquely named cgroup (see createCgroup). */
  cgroup(suffix: string, opts: Omit<CreateCgroupOptions, 'name'> = {}): ManagedCgroup {
    const cg = createCgroup({ ...opts, name: testCgroupName(suffix) });
    this.cgroups.push(cg);
    return cg;
  }

  /** Starts a shell busy loop and moves it into the cgroup. */
  busyLoop(cg: ManagedCgroup): ChildProcess {
    const child = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    this.procs.push(child);
    cg.addPid(child.pid!);
    return child;
  }

  /** Runs `command` (a shell command line) inside the cgroup from its first instruction; killed in cleanup. */
  spawnIn(cg: ManagedCgroup, command: string): ChildProcess {
    const join = cg.dirs.map((d) => `echo $$ > '${d}/cgroup.procs'`).join(' && ');
    const child = spawn('sh', ['-c', `${join} && exec ${command}`], { stdio: 'ignore' });
    this.procs.push(child);
    return child;
  }

  cleanup(): void {
    for (const p of this.procs) p.kill('SIGKILL');
    for (const c of this.cgroups.reverse()) {
      try {
        c.destroy();
      } catch {
        /* reported by the next run's leftovers check */
      }
    }
  }
}

/** A test that needs to create cgroups; skips (fails with CI=true) when it cannot. */
export function cgroupTest(
  name: string,
  fn: (fx: CgroupFixture, t: TestContext) => unknown | Promise<unknown>,
  opts: { timeout?: number } = {},
): void {
  test(name, { timeout: opts.timeout ?? 60_000 }, async (t) => {
    const fx = new CgroupFixture();
    try {
      let probe: ManagedCgroup;
      try {
        probe = fx.cgroup('probe');
      } catch (err) {
        const why = (err as Error).message;
        if (process.env.CI === 'true') throw new Error(`cgroup test cannot run: ${why} (CI requires it)`);
        t.skip(`cannot create cgroups here: ${why}`);
        return;
      }
      probe.destroy();
      await fn(fx, t);
    } finally {
      fx.cleanup();
    }
  });
}

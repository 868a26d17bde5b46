/**
 * End to end: `tripline demo` (both scenarios) runs to completion as a child process on the real kernel, and, also
 * when interrupted with Ctrl-C, leaves no cgroup, no process and no BPF program behind.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelTest } from '../support/kernel.ts';
import {
  HeldProgramsWatch,
  loadedPrograms,
  orphanedTriplinePrograms,
  stillLoaded,
  triplineProgramNames,
} from '../support/bpf-programs.ts';
import { findCpuMount } from '../../src/probes/cgroup-mount.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'tripline');

/** A running `tripline demo` with its output so far. */
interface DemoRun {
  readonly child: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) when the process exits. */
  readonly exited: Promise<number | string>;
  /** Resolves when stdout matches `re`; rejects when the process exits first or after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
}

/** Starts `tripline demo ARGS` with its temporary files under `tmp`, messages to the file sink and no Kubernetes. */
function startDemo(args: string[], tmp: string): DemoRun {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, SLACK_BOT_TOKEN: '', SLACK_CHANNEL: '', REDIS_URL: '' };
  delete env.KUBECONFIG;
  delete env.KUBERNETES_SERVICE_HOST;
  const child = spawn(bin, ['demo', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return {
    child,
    pid: child.pid!,
    exited,
    stdout: () => out,
    stderr: () => err,
    waitFor(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          clearInterval(poll);
          reject(new Error(`demo did not print ${re} within ${timeoutMs / 1000}s:\n${out}\n${err}`));
        }, timeoutMs);
        const poll = setInterval(() => {
          const m = re.exec(out);
          if (m) {
            clearInterval(poll);
            clearTimeout(timer);
            resolve(m);
          }
        }, 200);
        void exited.then((code) => {
          const m = re.exec(out);
          clearInterval(poll);
          clearTimeout(timer);
          if (m) resolve(m);
          else reject(new Error(`demo exited (${code}) before printing ${re}:\n${out}\n${err}`));
        });
      });
    },
  };
}

/** Cgroup directories named after the demo's pid, in the cpu hierarchy and in cpuacct when mounted apart. */
function demoCgroups(pid: number): string[] {
  const mount = findCpuMount();
  const dirs = [...new Set([mount.dir, mount.cpuacctDir].filter((d): d is string => Boolean(d)))];
  return dirs.flatMap((d) =>
    readdirSync(d)
      .filter((n) => n.startsWith(`tripline-demo-${pid}-`))
      .map((n) => join(d, n)),
  );
}

/** The printed workload pids that still run a busy loop (a reused pid runs something else). */
function busyLoopsAlive(pids: number[]): number[] {
  return pids.filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('while :; do :; done');
    } catch {
      return false;
    }
  });
}

/** Asserts the exited demo left no cgroup, workload process or BPF program behind. */
async function assertNothingLeft(run: DemoRun, watch: HeldProgramsWatch, before: ReadonlySet<number>): Promise<void> {
  const out = run.stdout();
  assert.deepEqual(demoCgroups(run.pid), [], 'no tripline-demo cgroup of this demo is left');
  const pids = /\(pids (\d+(?:, \d+)*)\)/.exec(out)?.[1].split(', ').map(Number) ?? [];
  assert.ok(pids.length >= 2, `the demo printed its workload pids:\n${out}`);
  // The loops are SIGKILLed by the demo; give the kernel a moment to reap them (they were the demo's children).
  for (let i = 0; i < 20 && busyLoopsAlive(pids).length; i++) await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(busyLoopsAlive(pids), [], 'no workload process is alive');

  const names = triplineProgramNames();
  const heldNames = [...watch.names.values()];
  assert.ok(
    heldNames.some((n) => names.has(n)),
    `the watch saw the demo holding tripline's BPF programs (so the check below can fail): ${heldNames.join(', ')}`,
  );
  assert.deepEqual(await stillLoaded(watch.ids), [], 'no program the demo held is still loaded');
  assert.deepEqual(await orphanedTriplinePrograms(before), [], 'no tripline program without an owner appeared');
}

/** Runs one scenario to completion and checks its output and what it left. */
async function demoToCompletion(scenario: 'limit' | 'neighbour'): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-demo-`));
  const before = new Set(loadedPrograms().keys());
  const run = startDemo(scenario === 'limit' ? [] : ['--scenario', 'neighbour'], tmp);
  const watch = new HeldProgramsWatch(run.pid);
  try {
    const code = await run.exited;
    watch.stop();
    const out = run.stdout();
    assert.equal(code, 0, `demo exits 0:\n${out}\n${run.stderr()}`);
    assert.match(out, /FIRING cpu-throttling/);
    const bundle = /bundle: (\S+)/.exec(out)?.[1];
    assert.ok(bundle, `a bundle path is printed:\n${out}`);
    assert.ok(existsSync(join(bundle, 'manifest.json')), `the bundle ${bundle} exists with its manifest`);
    if (scenario === 'limit') {
      assert.match(out, /limit-bound: throttled in \d+% of CFS periods/);
      assert.match(out, /what to do: raise its CPU limit/);
      assert.match(out, /scale \(firing\): Dry run.*PATCH .*"replicas"/);
    } else {
      assert.match(out, /contention: pid \d+ \(demo-batch-job\)/);
      assert.match(out, /demo-batch-job/, 'the neighbour is named');
      assert.match(out, /scale \(firing\): Did not scale/);
      assert.doesNotMatch(out, /scale \(firing\): Dry run/);
    }
    assert.match(out, /slack \(firing\): .*message posted/);
    assert.match(out, /chat\.postMessage → /, 'the Slack message is shown from the file sink');
    assert.match(out, /RESOLVED cpu-throttling/);
    assert.match(out, /demo complete/);
    await assertNothingLeft(run, watch, before);
  } finally {
    watch.stop();
    if (run.child.exitCode === null) {
      run.child.kill('SIGKILL');
      await run.exited;
    }
    rmSync(tmp, { recursive: true, force: true });
  }
}

kernelTest(
  'tripline demo (limit) runs to completion: limit-bound, Slack message, dry-run PATCH, resolved; nothing left',
  () => demoToCompletion('limit'),
  { timeout: 240_000 },
);

kernelTest(
  'tripline demo --scenario neighbour runs to completion: contention, the neighbour named, no scale; nothing left',
  () => demoToCompletion('neighbour'),
  { timeout: 240_000 },
);

kernelTest(
  'tripline demo interrupted with Ctrl-C exits 130 and leaves nothing behind',
  async () => {
    const tmp = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-demo-`));
    const before = new Set(loadedPrograms().keys());
    const run = startDemo([], tmp);
    const watch = new HeldProgramsWatch(run.pid);
    try {
      await run.waitFor(/FIRING|capture:/, 150_000);
      watch.sample();
      run.child.kill('SIGINT');
      const sentAt = Date.now();
      const code = await Promise.race([run.exited, new Promise((r) => setTimeout(() => r('still running'), 60_000))]);
      watch.stop();
      assert.equal(
        code,
        130,
        `demo exits 130 on Ctrl-C (after ${Date.now() - sentAt} ms):\n${run.stdout()}\n${run.stderr()}`,
      );
      assert.match(run.stdout(), /interrupted: cleaning up/);
      await assertNothingLeft(run, watch, before);
    } finally {
      watch.stop();
      if (run.child.exitCode === null) {
        run.child.kill('SIGKILL');
        await run.exited;
      }
      rmSync(tmp, { recursive: true, force: true });
    }
  },
  { timeout: 240_000 },
);

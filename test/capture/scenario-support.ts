// Diagnosis scenarios on the real kernel: one C workload built here (diag-work, several modes), run in its own
// cgroup, diagnosed through both paths: `tripline capture` spawned as a command (no sampler history: the capture
// measures the cgroup itself) and an engine trip (a real Engine, a rule with a 2 s window on the target's CPU use).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, type TestContext } from 'node:test';
import type { CgroupFixture } from '../support/cgroups.ts';
import { bpfUnavailable } from '../support/kernel.ts';
import { waitFor } from '../e2e/support.ts';
import { buildConfig } from '../../src/config.ts';
import { Engine } from '../../src/engine.ts';
import { createLogger } from '../../src/log.ts';
import { validateBundle } from '../../src/bundle/validate.ts';
import { plain } from '../../src/bundle/summary.ts';
import type { Findings } from '../../src/bundle/types.ts';
import type { ManagedCgroup } from '../../src/demo/cgroup-admin.ts';

const repo = join(import.meta.dirname, '..', '..');
const bin = join(repo, 'bin', 'tripline');
const CAPTURE = '3s';

// Modes (argv[1]): spin N — N threads spinning; mutex N — N threads taking one mutex around ~1 ms of work in
// hold_lock_and_work (libc's lock wait has no frame
// pointer: stacks show the thread function, locker, above it); fsync FILE — 4 KiB writes each followed by fsync; getppid — a tight loop of a cheap syscall;
// hot — one thread in hot_named_function. Built with frame pointers so user stacks unwind through its functions.
const SOURCE = `#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long sink;
static void *spin(void *a) { (void)a; for (;;) __asm__ volatile(""); return 0; }
__attribute__((noinline)) static void hold_lock_and_work(void) {
  pthread_mutex_lock(&lock);
  for (volatile long i = 0; i < 400000; i++) sink += i;
  pthread_mutex_unlock(&lock);
}
static void *locker(void *a) { (void)a; for (;;) hold_lock_and_work(); return 0; }
__attribute__((noinline)) unsigned long hot_named_function(unsigned long x) {
  for (int i = 0; i < 100000; i++) x = x * 2862933555777941757UL + 3037000493UL;
  return x;
}
// The syscall instruction inline: libc's wrappers have no frame pointer, which hides their caller from the unwinder.
__attribute__((noinline)) static void storm_getppid(void) {
#if defined(__x86_64__)
  for (;;) { long r; __asm__ volatile("syscall" : "=a"(r) : "0"((long)SYS_getppid) : "rcx", "r11", "memory"); }
#else
  for (;;) syscall(SYS_getppid);
#endif
}
static void threads(void *(*fn)(void *), int n) {
  for (int i = 1; i < n; i++) { pthread_t t; pthread_create(&t, 0, fn, 0); }
  fn(0);
}
int main(int c, char **v) {
  const char *mode = c > 1 ? v[1] : "spin";
  if (!strcmp(mode, "spin")) threads(spin, c > 2 ? atoi(v[2]) : 1);
  if (!strcmp(mode, "mutex")) threads(locker, c > 2 ? atoi(v[2]) : 4);
  if (!strcmp(mode, "getppid")) storm_getppid();
  if (!strcmp(mode, "hot")) for (unsigned long x = 1;;) sink = x = hot_named_function(x);
  if (!strcmp(mode, "fsync")) {
    int fd = open(v[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    for (long n = 0;; n++) {
      if (write(fd, buf, sizeof buf) < 0) return 1;
      fdatasync(fd);
      if (n % 4096 == 4095) lseek(fd, 0, SEEK_SET);
    }
  }
  return 2;
}
`;

/** The scenario folder (on the root file system: /tmp is on a real disk here, so fsync does I/O) and the binary. */
export function scenarioWorld(): { root: string; work: () => string } {
  const root = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-scen-`));
  const work = join(root, 'diag-work');
  before(() => {
    writeFileSync(join(root, 'work.c'), SOURCE);
    execFileSync('cc', ['-O1', '-fno-omit-frame-pointer', '-pthread', '-o', work, join(root, 'work.c')]);
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  return { root, work: () => work };
}

/** Starts diag-work `args` inside `cg` from its first instruction (pinned to `cpu` when given). */
export function runIn(fx: CgroupFixture, cg: ManagedCgroup, work: string, args: string, cpu?: number): void {
  fx.spawnIn(cg, cpu === undefined ? `'${work}' ${args}` : `taskset -c ${cpu} '${work}' ${args}`);
}

export function bpfOrSkip(t: TestContext): boolean {
  const why = bpfUnavailable();
  if (!why) return true;
  if (process.env.CI === 'true') throw new Error(`BPF unavailable: ${why}`);
  t.skip(`BPF unavailable: ${why}`);
  return false;
}

export interface ScenarioOptions {
  readonly probes: readonly string[];
  /** Cores of CPU use over which the engine's rule trips. @defaultValue 0.05 */
  readonly above?: number;
  /** Deep-probe options (capture.options of the rule; `--set` is not offered by the CLI, so CLI runs use defaults). */
  readonly options?: Record<string, unknown>;
}

/** `tripline capture --cgroup REL` as a command; returns the bundle's findings (checked) and its terminal output. */
async function cliCapture(root: string, target: ManagedCgroup, o: ScenarioOptions): Promise<Findings> {
  const out = join(root, `cli-${target.id}`);
  const args = ['capture', '--cgroup', target.rel, '--probes', o.probes.join(','), '--duration', CAPTURE];
  const child = spawn(bin, [...args, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, `tripline capture failed: ${stderr}`);
  const dir = stdout.trim().split('\n').pop()!;
  const check = await validateBundle(dir);
  assert.deepEqual(check.problems, []);
  const f = check.findings!;
  // The terminal output leads with the answer, as summary.md does.
  const lead = f.diagnosis?.lead;
  assert.ok(lead && stderr.includes(`${lead}\n  what to do: `), `no lead line in the terminal output:\n${stderr}`);
  assert.ok(readFileSync(join(dir, 'summary.md'), 'utf8').includes(`**${plain(lead, 600)}**`), 'summary.md lead');
  return f;
}

/** A real engine with a 2 s-window rule on the target's CPU use; returns the trip's bundle findings. */
async function engineTrip(
  t: TestContext,
  root: string,
  target: ManagedCgroup,
  watch: readonly string[],
  o: ScenarioOptions,
): Promise<Findings> {
  const dir = join(root, `engine-${target.id}`);
  const rules = join(dir, 'rules');
  mkdirSync(rules, { recursive: true });
  const name = `diag-${target.id}`;
  writeFileSync(
    join(rules, `${name}.yaml`),
    JSON.stringify({
      apiVersion: 'tripline.dev/v1',
      kind: 'Rule',
      metadata: { name },
      spec: {
        severity: 'warning',
        group_by: ['cgroup'],
        match: { cgroup: { regex: target.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') } },
        when: { any: [{ signal: 'cpu_usage_seconds', stat: 'rate', window: '2s', above: o.above ?? 0.05 }] },
        for: '0s',
        capture: { probes: [...o.probes], duration: CAPTURE, ...(o.options ? { options: o.options } : {}) },
      },
    }),
  );
  const config = buildConfig(
    {
      listen: '127.0.0.1:0',
      data_dir: join(dir, 'data'),
      rules: [rules],
      sampler: { tick: '1s', history: '2m' },
      counters: { watch_cgroups: [...watch] },
    },
    {},
  );
  const log = createWriteStream(join(dir, 'engine.log'));
  const engine = new Engine({ config, log: createLogger('warn', log), watchRules: false });
  const ids: string[] = [];
  engine.on('incident', (i: { id: string; rule: string; status: string }) => {
    if (i.rule === name && i.status === 'firing') ids.push(i.id);
  });
  try {
    await engine.start();
    const rec = await waitFor(
      'the trip and its capture',
      60_000,
      () => {
        const r = ids.length > 0 ? engine.incidents.get(ids[0]) : undefined;
        return r && (r.capture === 'done' || r.capture === 'failed') ? r : undefined;
      },
      () => readFileSync(join(dir, 'engine.log'), 'utf8').slice(-2000),
    );
    assert.equal(rec.capture, 'done', rec.captureError ?? '');
    const check = await validateBundle(rec.bundle!.dir);
    assert.deepEqual(check.problems, []);
    return check.findings!;
  } finally {
    await engine.stop();
    await new Promise<void>((r) => log.end(() => r()));
    t.diagnostic(`engine log: ${join(dir, 'engine.log')}`);
  }
}

export type ScenarioPath = 'tripline capture' | 'engine trip';

/** Both paths on the same running workload, the hand-run one first; `check` asserts each path's findings. */
export async function bothPaths(
  t: TestContext,
  root: string,
  target: ManagedCgroup,
  watch: readonly string[],
  o: ScenarioOptions,
  check: (f: Findings, path: ScenarioPath) => void,
): Promise<void> {
  for (const path of ['tripline capture', 'engine trip'] as const) {
    const f =
      path === 'tripline capture' ? await cliCapture(root, target, o) : await engineTrip(t, root, target, watch, o);
    const d = f.diagnosis;
    const l = f.live;
    t.diagnostic(
      `${path}: ${d?.lead} | also: ${(d?.also ?? []).map((a) => `${a.cause} ${Math.round(a.share * 100)}%`).join(', ')} | live: ${l?.samples} readings, throttled ${l?.throttledPeriods}/${l?.cpuPeriods}, ${l?.usageCores?.toFixed(2)} cores, quota ${l?.quotaCores ?? 'none'}`,
    );
    check(f, path);
  }
}

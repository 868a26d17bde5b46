// Kernel tier: the diagnosis of three real workloads (a C spinner built here, in their own cgroups), each through
// both paths: `tripline capture` spawned as a command (no sampler history: the capture measures the cgroup itself)
// and an engine trip (a real Engine, a rule with a 2 s window that fires on the target's CPU use). Asserts the cause
// and the culprit:
// - quota-bound: one spinning thread under a 0.1-core quota → limit-bound, throttling read from cpu.stat;
// - victim + heavy neighbour on one CPU (no quota) → contention, naming the neighbour's cgroup with its share;
// - eight spinning threads pinned to one CPU, no neighbour → self-contention.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, type TestContext } from 'node:test';
import { cgroupTest, type CgroupFixture } from '../support/cgroups.ts';
import { bpfUnavailable } from '../support/kernel.ts';
import { hostLock, idlestCpu, waitFor } from '../e2e/support.ts';
import { buildConfig } from '../../src/config.ts';
import { Engine } from '../../src/engine.ts';
import { createLogger } from '../../src/log.ts';
import { validateBundle } from '../../src/bundle/validate.ts';
import type { Findings } from '../../src/bundle/types.ts';
import type { ManagedCgroup } from '../../src/demo/cgroup-admin.ts';

const repo = join(import.meta.dirname, '..', '..');
const bin = join(repo, 'bin', 'tripline');
const root = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-scen-`));
const spin = join(root, 'diag-spin');
const CAPTURE = '3s';

before(() => {
  // N threads spinning in user space (comm diag-spin): the workload of every scenario.
  writeFileSync(
    join(root, 'spin.c'),
    `#include <pthread.h>
#include <stdlib.h>
static void *run(void *a) { (void)a; for (;;) __asm__ volatile(""); return 0; }
int main(int c, char **v) {
  int n = c > 1 ? atoi(v[1]) : 1;
  for (int i = 1; i < n; i++) { pthread_t t; pthread_create(&t, 0, run, 0); }
  run(0);
}
`,
  );
  execFileSync('cc', ['-O1', '-pthread', '-o', spin, join(root, 'spin.c')]);
});
after(() => rmSync(root, { recursive: true, force: true }));

/** Starts `threads` spinning threads inside `cg` from their first instruction (pinned to `cpu` when given). */
function spinIn(fx: CgroupFixture, cg: ManagedCgroup, threads: number, cpu?: number): void {
  const join_ = cg.dirs.map((d) => `echo $$ > '${d}/cgroup.procs'`).join(' && ');
  const run = cpu === undefined ? `exec '${spin}' ${threads}` : `exec taskset -c ${cpu} '${spin}' ${threads}`;
  const child = spawn('sh', ['-c', `${join_} && ${run}`], { stdio: 'ignore' });
  fx['procs'].push(child); // the fixture kills it in cleanup, on every path
}

function bpfOrSkip(t: TestContext): boolean {
  const why = bpfUnavailable();
  if (!why) return true;
  if (process.env.CI === 'true') throw new Error(`BPF unavailable: ${why}`);
  t.skip(`BPF unavailable: ${why}`);
  return false;
}

/** `tripline capture --cgroup REL` as a command; returns the bundle's findings (checked against its schema). */
async function cliCapture(target: ManagedCgroup): Promise<Findings> {
  const out = join(root, `cli-${target.id}`);
  const child = spawn(
    bin,
    ['capture', '--cgroup', target.rel, '--probes', 'runqslower,offcpu,profile', '--duration', CAPTURE, '--out', out],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, `tripline capture failed: ${stderr}`);
  const dir = stdout.trim().split('\n').pop()!;
  const check = await validateBundle(dir);
  assert.deepEqual(check.problems, []);
  return check.findings!;
}

/** A real engine with a 2 s-window rule on the target's CPU use; returns the trip's bundle findings. */
async function engineTrip(t: TestContext, target: ManagedCgroup, watch: readonly string[]): Promise<Findings> {
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
        when: { any: [{ signal: 'cpu_usage_seconds', stat: 'rate', window: '2s', above: 0.05 }] },
        for: '0s',
        capture: { probes: ['runqslower', 'offcpu', 'profile'], duration: CAPTURE },
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

type Path = 'tripline capture' | 'engine trip';
/** Both paths on the same running workload, the hand-run one first. */
async function bothPaths(
  t: TestContext,
  target: ManagedCgroup,
  watch: readonly string[],
  check: (f: Findings, path: Path) => void,
): Promise<void> {
  for (const path of ['tripline capture', 'engine trip'] as const) {
    const f = path === 'tripline capture' ? await cliCapture(target) : await engineTrip(t, target, watch);
    const d = f.diagnosis;
    const l = f.live;
    t.diagnostic(
      `${path}: ${d?.cause} — ${d?.summary} | live: ${l?.samples} readings, throttled ${l?.throttledPeriods}/${l?.cpuPeriods}, ${l?.usageCores?.toFixed(2)} cores, quota ${l?.quotaCores ?? 'none'}, psi ${l?.pressureScope}`,
    );
    check(f, path);
  }
}

cgroupTest(
  'scenario quota-bound: a spinning thread under a 0.1-core quota is limit-bound on both paths, from cpu.stat',
  async (fx, t) => {
    if (!bpfOrSkip(t)) return;
    const cg = fx.cgroup('quota', { quotaCores: 0.1 });
    spinIn(fx, cg, 1);
    await bothPaths(t, cg, [cg.rel], (f, path) => {
      assert.equal(f.diagnosis?.cause, 'limit-bound', `${path}: ${JSON.stringify(f.diagnosis)}`);
      assert.equal(f.diagnosis!.evidence.throttled_from, 'capture');
      // 0.1 core of demand 1: throttled in nearly every period; a loaded machine lowers it, never under half.
      assert.ok(f.live!.throttledRatio! > 0.5, JSON.stringify(f.live));
      assert.ok(f.live!.usageCores! < 0.2, JSON.stringify(f.live));
      assert.equal(f.live!.quotaCores, 0.1);
      assert.ok(f.live!.samples >= 3, `readings at start, each second, end: ${f.live!.samples}`);
      assert.equal(f.live!.pressureScope, 'node');
    });
  },
  { timeout: 120_000 },
);

cgroupTest(
  'scenario neighbour: a victim beside four spinning threads of another cgroup on one CPU is contention, naming it',
  async (fx, t) => {
    if (!bpfOrSkip(t)) return;
    const release = await hostLock('contention', 150_000);
    try {
      const cpu = await idlestCpu();
      const victim = fx.cgroup('victim');
      const noisy = fx.cgroup('noisy');
      spinIn(fx, noisy, 4, cpu);
      spinIn(fx, victim, 1, cpu);
      await bothPaths(t, victim, [victim.rel, noisy.rel], (f, path) => {
        assert.equal(f.diagnosis?.cause, 'contention', `${path}: ${JSON.stringify(f.diagnosis)}`);
        // The victim gets ~1/5 of the CPU: it waits most of its runnable time, and the named neighbour is the
        // noisy cgroup's spinner with a real share of that wait (other loads of this shared host take some).
        assert.ok((f.diagnosis!.evidence.wait_share as number) > 0.4, JSON.stringify(f.diagnosis!.evidence));
        assert.match(String(f.diagnosis!.evidence.top_neighbour), new RegExp(`\\(diag-spin\\).* in ${noisy.rel}$`));
        assert.ok((f.diagnosis!.evidence.top_neighbour_share as number) >= 0.2);
        assert.match(f.diagnosis!.summary, /, mostly pid \d+ \(diag-spin\).* \(\d+% of the wait\)$/);
      });
    } finally {
      release?.();
    }
  },
  { timeout: 300_000 },
);

cgroupTest(
  'scenario self-contention: eight spinning threads pinned to one CPU, no neighbour',
  async (fx, t) => {
    if (!bpfOrSkip(t)) return;
    const release = await hostLock('contention', 150_000);
    try {
      const cpu = await idlestCpu();
      const cg = fx.cgroup('eight');
      spinIn(fx, cg, 8, cpu);
      await bothPaths(t, cg, [cg.rel], (f, path) => {
        assert.equal(f.diagnosis?.cause, 'self-contention', `${path}: ${JSON.stringify(f.diagnosis)}`);
        const ev = f.diagnosis!.evidence;
        assert.ok((ev.wait_share as number) > 0.5, JSON.stringify(ev));
        assert.ok((ev.own_share_of_wait as number) > (ev.others_share_of_wait as number), JSON.stringify(ev));
        // Eight threads always runnable on one CPU: about eight runnable on average, well over the one core used.
        assert.ok((ev.runnable_threads_mean as number) > 4, JSON.stringify(ev));
        assert.equal(f.live!.throttledPeriods ?? 0, 0);
      });
    } finally {
      release?.();
    }
  },
  { timeout: 300_000 },
);

/**
 * Kernel test tier: a test that loads real BPF programs. It skips, saying why, when this host cannot load
 * BPF; with CI=true it fails instead, so CI never passes without running the kernel tests.
 */
import { test, type TestContext } from 'node:test';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { features } from '../../src/probes/features.ts';
import { OBJ_DIR } from '../../src/paths.ts';

/** Directory of the compiled BPF objects. */
export const objDir = OBJ_DIR;

let built = false;
/** Builds the BPF objects once per test process (fast when up to date). */
export function buildBpf(): void {
  if (built) return;
  execFileSync(join(import.meta.dirname, '..', '..', 'scripts', 'build-bpf'), {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  built = true;
}

/** Why BPF can't run here, or undefined when it can. */
export function bpfUnavailable(): string | undefined {
  buildBpf();
  const f = features(objDir);
  return f.bpf.ok ? undefined : f.bpf.reason;
}

/** A test that needs a real kernel with BPF. */
export function kernelTest(
  name: string,
  fn: (t: TestContext) => unknown | Promise<unknown>,
  opts: { timeout?: number } = {},
): void {
  test(name, { timeout: opts.timeout ?? 120_000 }, async (t) => {
    const why = bpfUnavailable();
    if (why) {
      if (process.env.CI === 'true') throw new Error(`kernel test cannot run: ${why} (CI requires the kernel tests)`);
      t.skip(`BPF unavailable: ${why}`);
      return;
    }
    await fn(t);
  });
}

/** Skips a test whose prerequisite is missing, saying why; with CI=true fails instead (CI installs everything). */
export function skipOrFail(t: TestContext, why: string): void {
  if (process.env.CI === 'true')
    throw new Error(`test cannot run: ${why} (CI must provide it: see scripts/setup.sh --test)`);
  t.skip(why);
}

/** Helpers for the deep probe kernel tests: a context, a budget, C workloads compiled at test time. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { objDir } from '../../support/kernel.ts';
import {
  DEFAULT_PROBE_SETTINGS,
  type ProbeBudget,
  type ProbeContext,
  type ProbeSettings,
} from '../../../src/probes/deep/types.ts';

/** A probe context over the built objects. */
export function probeContext(
  options: Record<string, unknown> = {},
  redact = true,
  settings?: Partial<ProbeSettings>,
): ProbeContext {
  return { objDir, redact, options, settings: { ...DEFAULT_PROBE_SETTINGS, ...settings } };
}

/** A budget with generous limits unless overridden. */
export function budget(over: Partial<ProbeBudget> = {}): ProbeBudget {
  return { durationMs: 10_000, maxEvents: 100_000, maxBytes: 8 << 20, ...over };
}

/** Unique name for cgroups, files and processes a test makes. */
export function uniqueName(): string {
  return `tripline-test-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
}

/** Compiles a C program (frame pointers kept, no optimisation) into a temp dir; `cleanup()` removes it. */
export function compileC(source: string): { bin: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-cc-'));
  writeFileSync(join(dir, 'w.c'), source);
  const bin = join(dir, 'w');
  execFileSync('cc', ['-O0', '-g', '-fno-omit-frame-pointer', '-o', bin, join(dir, 'w.c')]);
  return { bin, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Waits `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

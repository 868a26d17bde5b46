/**
 * Budgets and the probe CPU cap. Each probe of a capture gets a budget (time box from the plan, events and bytes from
 * the probe's catalog entry); the manager
 * keeps the in-kernel run time of all running probes under `capture.max_cpu_percent` of one core, measured from
 * the probes that report it (`cpuNs()` on the running probe: run time of its BPF programs, from the kernel's
 * per-program statistics). Probes that do not report it count as zero.
 */
import type { DeepProbe, ProbeBudget, ProbeBudgetSize, RunningProbe } from '../probes/deep/types.ts';

/** Budget of a probe that declares none (test doubles, probes outside the catalog). */
const FALLBACK: ProbeBudgetSize = { maxEvents: 20_000, maxBytes: 4 << 20 };

/** The budget of a probe for a capture of `durationMs`: events and bytes from its catalog entry, time from the plan. */
export function budgetFor(probe: Pick<DeepProbe, 'budget'> | undefined, durationMs: number): ProbeBudget {
  const b = probe?.budget ?? FALLBACK;
  return { durationMs, maxEvents: b.maxEvents, maxBytes: b.maxBytes };
}

/** A running probe that may report its in-kernel CPU time. */
export type MeteredProbe = RunningProbe & { cpuNs?(): number };

/** In-kernel CPU time of a running probe so far (0 when it does not report it or the read fails). */
export function probeCpuNs(p: MeteredProbe): number {
  try {
    return typeof p.cpuNs === 'function' ? Math.max(0, p.cpuNs()) : 0;
  } catch {
    return 0;
  }
}

/**
 * Rate of CPU use of a set of probes, in percent of one core, between successive `sample()` calls.
 * Stateless about who the probes are: the caller passes the current total each time.
 */
export class CpuRate {
  private lastNs: number | undefined;
  private lastAt = 0;

  /** Feeds the current total (ns) at `atMs`; returns percent of one core since the previous call (0 on the first). */
  sample(totalNs: number, atMs: number): number {
    const prev = this.lastNs;
    const dt = atMs - this.lastAt;
    this.lastNs = totalNs;
    this.lastAt = atMs;
    if (prev === undefined || dt <= 0) return 0;
    return Math.max(0, (100 * (totalNs - prev)) / (dt * 1e6));
  }
}

/**
 * One capture in flight: starts every probe of the plan on the target (prepared instances, so only the attach is
 * paid at the trip), stops them at the deadline — a timer, backed by a periodic hard check in case the timer
 * fires late — or earlier when cut (engine stopping, CPU cap), and hands back what each probe produced.
 * A probe that fails to start or stop is recorded as failed; the others carry on.
 */
import type { ProbeRun } from '../bundle/writer.ts';
import type { PreparedProbe, ProbeBudget, ProbeTarget } from '../probes/deep/types.ts';
import type { LiveStats } from '../bundle/types.ts';
import { CpuRate, probeCpuNs, type MeteredProbe } from './budget.ts';
import { startTargetSampler, type TargetSampler } from './live.ts';

/** Interval of the hard deadline check and of the CPU meter. */
export const CHECK_MS = 100;

export interface RunPlan {
  readonly probes: readonly string[];
  readonly durationMs: number;
  readonly target: ProbeTarget;
  readonly budgetOf: (probe: string) => ProbeBudget;
  /** A prepared instance of the probe (from the ready pool or prepared now); throws when it cannot run here. */
  readonly acquire: (probe: string) => PreparedProbe;
  /** Probes not started, with the reason (unknown name, CPU cap reached). */
  readonly skip?: ReadonlyMap<string, string>;
  readonly now?: () => number;
}

/** What a finished run hands to the bundle. Times are ms since the epoch. */
export interface RunOutcome {
  readonly runs: ProbeRun[];
  readonly attachStartedAt: number;
  readonly attachedAt: number;
  readonly detachedAt: number;
  readonly partial: boolean;
  readonly partialReason?: string;
  /** The target's cgroup as the capture measured it (src/capture/live.ts); absent without a cgroup. */
  readonly live?: LiveStats;
}

/** A started capture. `done` settles once every probe is stopped (never rejects). */
export class CaptureRun {
  readonly attachStartedAt: number;
  readonly attachedAt: number;
  deadlineAt: number;
  readonly done: Promise<RunOutcome>;
  private readonly running: { name: string; budget: ProbeBudget; probe: MeteredProbe }[] = [];
  private readonly failed: ProbeRun[] = [];
  private readonly rate = new CpuRate();
  private cutReason: string | undefined;
  private resolveStop!: () => void;
  private stopping = false;
  private timer: NodeJS.Timeout;
  private readonly check: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly plan: RunPlan;
  private readonly sampler: TargetSampler | undefined;

  constructor(plan: RunPlan) {
    this.plan = plan;
    this.now = plan.now ?? Date.now;
    this.attachStartedAt = this.now();
    for (const name of plan.probes) {
      const budget = plan.budgetOf(name);
      const why = plan.skip?.get(name);
      if (why) {
        this.failed.push({ name, status: 'skipped', reason: why, budget });
        continue;
      }
      try {
        this.running.push({ name, budget, probe: plan.acquire(name).start(plan.target, budget) as MeteredProbe });
      } catch (err) {
        this.failed.push({ name, status: 'failed', reason: describe(err), budget });
      }
    }
    this.attachedAt = this.now();
    // The capture measures its target itself (start, every second, end): hand-run and engine captures alike.
    const t = plan.target;
    this.sampler =
      t.cgroupId !== undefined || t.cgroupPath
        ? startTargetSampler({ cgroupId: t.cgroupId?.toString(), cgroupPath: t.cgroupPath })
        : undefined;
    this.deadlineAt = this.attachedAt + plan.durationMs;
    const stopped = new Promise<void>((resolve) => {
      this.resolveStop = resolve;
    });
    this.timer = setTimeout(() => this.finish(), plan.durationMs);
    // The hard check: timers of a busy loop can fire late; this catches a missed deadline on the next turn it gets.
    this.check = setInterval(() => {
      if (this.now() >= this.deadlineAt) this.finish();
    }, CHECK_MS);
    this.done = stopped.then(() => this.collect());
    if (this.running.length === 0) this.finish();
  }

  /** Names of the probes that attached. */
  get attached(): string[] {
    return this.running.map((r) => r.name);
  }

  /** Percent of one core the running probes used since the previous call (in-kernel time they report). */
  cpuPercent(): number {
    return this.rate.sample(
      this.running.reduce((a, r) => a + probeCpuNs(r.probe), 0),
      this.now(),
    );
  }

  /** Moves the deadline `ms` later (a requested capture's extension); false once it is stopping. */
  extend(ms: number): boolean {
    if (this.stopping) return false;
    for (const r of this.running) r.probe.extend?.(ms);
    this.deadlineAt += ms;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.finish(), Math.max(0, this.deadlineAt - this.now()));
    return true;
  }

  /** Stops now and marks the capture partial with the reason (first reason wins). */
  cut(reason: string): Promise<RunOutcome> {
    if (!this.stopping) this.cutReason ??= reason;
    this.finish();
    return this.done;
  }

  private finish(): void {
    if (this.stopping) return;
    this.stopping = true;
    clearTimeout(this.timer);
    clearInterval(this.check);
    this.resolveStop();
  }

  private async collect(): Promise<RunOutcome> {
    const partial = this.cutReason !== undefined;
    const live = this.sampler?.stop(); // the end reading, when the probes detach
    const runs: ProbeRun[] = [...this.failed];
    // Detach all first (synchronously inside stop), then await their reads: the time box ends for all at once.
    const results = this.running.map((r) => {
      const cpuNs = probeCpuNs(r.probe);
      let p: Promise<unknown>;
      try {
        p = r.probe.stop({ partial });
      } catch (err) {
        p = Promise.reject(err);
      }
      return { r, cpuNs, p };
    });
    // When the last probe detached: its own endedAt (a probe's stop may symbolize synchronously before returning,
    // so the clock after the stop calls would overstate the capture), else when we asked.
    let detachedAt = this.now();
    let lastEnd = 0;
    for (const { r, cpuNs, p } of results) {
      try {
        const result = (await p) as ProbeRun['result'];
        if (result && result.endedAt > lastEnd) lastEnd = result.endedAt;
        runs.push({ name: r.name, status: 'ok', budget: r.budget, result, ...(cpuNs > 0 ? { cpuNs } : {}) });
      } catch (err) {
        runs.push({ name: r.name, status: 'failed', reason: describe(err), budget: r.budget });
      }
    }
    if (lastEnd > 0) detachedAt = Math.min(detachedAt, Math.max(lastEnd, this.attachedAt));
    const order = this.plan.probes;
    runs.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
    return {
      runs,
      attachStartedAt: this.attachStartedAt,
      attachedAt: this.attachedAt,
      detachedAt,
      partial,
      ...(partial ? { partialReason: this.cutReason } : {}),
      ...(live ? { live } : {}),
    };
  }
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; hint?: string };
  return `${e?.code ? `${e.code}: ` : ''}${e?.message ?? String(err)}${e?.hint ? ` (hint: ${e.hint})` : ''}`;
}

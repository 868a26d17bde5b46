/**
 * Deep probes: attached only when a rule trips, scoped to the offender, time-boxed, with a budget.
 * Lifecycle: prepare (open + configure + load, ahead of time) → start (write target into the filter map, attach)
 * → stop (detach, drain, symbolize) → ProbeResult. The capture manager keeps one prepared instance per probe
 * so a trip only pays for the attach.
 */
import type { z } from 'zod';
import type { StackWeight } from './evidence.ts';

/**
 * Whom to trace. At least one of cgroupId / pids / cgroupIds / hostWide. cgroupId is the cpu controller's cgroup id
 * (inode).
 */
export interface ProbeTarget {
  readonly cgroupId?: bigint;
  readonly cgroupPath?: string;
  readonly pids?: readonly number[];
  /** Further cgroups (the top contributors of a host-wide trip), at most DEEP_MAX_CGROUPS (8). */
  readonly cgroupIds?: readonly bigint[];
  /** Every task on the host (a host-wide trip no cgroup contributed to measurably); the budget bounds it. */
  readonly hostWide?: boolean;
}

export interface ProbeBudget {
  readonly durationMs: number;
  /** Events (ring buffer records, samples) accepted before the probe stops recording and counts drops. */
  readonly maxEvents: number;
  /** Bytes of event data kept in memory / written to events.ndjson. */
  readonly maxBytes: number;
}

export interface ProbeContext {
  /** Directory of the compiled BPF objects (build/bpf). */
  readonly objDir: string;
  /** Redact string arguments and SQL literals (default true). */
  readonly redact: boolean;
  /** Probe options from the rule (`capture.options.<probe>`), already validated by the probe's schema. */
  readonly options: Readonly<Record<string, unknown>>;
  /** What the engine's config allows and where its binaries are: never from a rule. @defaultValue DEFAULT_PROBE_SETTINGS */
  readonly settings?: ProbeSettings;
}

/**
 * Engine settings probes need, from the config only (a rule file can name probes and options, never a program to
 * run or a binary): `capture.bpftrace_binary`, `capture.allow_bpftrace_programs`, `counters.pg_binaries`.
 */
export interface ProbeSettings {
  /** The bpftrace binary (absolute path). */
  readonly bpftraceBinary: string;
  /** Whether a rule's own bpftrace program may run at all (it runs as root with the probe side's capabilities). */
  readonly allowBpftracePrograms: boolean;
  /** PostgreSQL binaries with USDT probes, for a pg capture whose target has no live process to read /proc/PID/exe. */
  readonly pgBinaries: readonly string[];
}

/** Settings when the caller gives none: bpftrace programs off. */
export const DEFAULT_PROBE_SETTINGS: ProbeSettings = Object.freeze({
  bpftraceBinary: '/usr/bin/bpftrace',
  allowBpftracePrograms: false,
  pgBinaries: Object.freeze([]) as readonly string[],
});

export interface ProbeResult {
  readonly probe: string;
  readonly startedAt: number;
  readonly endedAt: number;
  /** Cut short (engine stopping, deadline forced, budget): the data is valid but incomplete. */
  readonly partial: boolean;
  readonly events: number;
  readonly dropped: number;
  readonly errors: readonly string[];
  /** Stack probes: weighted, symbolized stacks (root first, leaf last). Written as .folded and profile.pb.gz. */
  readonly stacks?: readonly StackWeight[];
  /** Event probes: one JSON object per event, written to events.ndjson (bounded by the byte budget). */
  readonly records?: readonly Record<string, unknown>[];
  /** Probe-specific aggregates for findings (e.g. neighbours, per-syscall totals, slow queries). */
  readonly summary: Readonly<Record<string, unknown>>;
  /** What was redacted (e.g. "sql literals", "path arguments"). */
  readonly redactions: readonly string[];
}

export interface RunningProbe {
  /** Detaches and returns the result. `partial` marks a capture cut short. Idempotent. */
  stop(opts?: { partial?: boolean }): Promise<ProbeResult>;
  /**
   * Moves its own deadline (timer and in-kernel) `ms` later: a requested capture extended while it runs. False when
   * it cannot (detached already); absent on probes whose time box cannot move (they stop at their budget's end).
   */
  extend?(ms: number): boolean;
}

export interface PreparedProbe {
  /** Writes the target into the filter map and attaches; must be fast (no BPF load here). */
  start(target: ProbeTarget, budget: ProbeBudget): RunningProbe;
  /** Frees a prepared instance that was never started. */
  close(): void;
}

export interface DeepProbe {
  readonly name: string;
  readonly description: string;
  /** Event and byte budget of a capture (the time box comes from the plan); probes outside the catalog may omit it. */
  readonly budget?: ProbeBudgetSize;
  /** Schema of `capture.options.<probe>` (strict): rules are checked against it when they load. */
  readonly options?: z.ZodType;
  /** Open, configure and load (verifier); throws TriplineError PROBE_ERR_* with a hint when it cannot run here. */
  prepare(ctx: ProbeContext): PreparedProbe;
}

/** A probe's event and byte budget, sized for a 10 s capture on a busy target. */
export interface ProbeBudgetSize {
  readonly maxEvents: number;
  readonly maxBytes: number;
}

/** A probe's row in docs/probes.md's catalog table (test/probes/deep/index.test.ts checks the page against it). */
export interface ProbeDoc {
  /** What it records. */
  readonly what: string;
  /** Where it attaches. */
  readonly hooks: string;
  /** Cost class: per-switch, per-syscall, sampled, per-event (see docs/probes.md). */
  readonly cost: string;
}

/** A deep probe's catalog entry (src/probes/deep/index.ts): the probe and everything known about it. */
export interface CatalogProbe extends DeepProbe {
  readonly budget: ProbeBudgetSize;
  /** Strict schema of `capture.options.<probe>` (snake_case keys, defaults); each key is documented in docs/probes.md. */
  readonly options: z.ZodObject;
  /** Schema of `ProbeResult.summary` (what findings, Slack and the scale action read); tests check real results. */
  readonly summary: z.ZodType;
  readonly doc: ProbeDoc;
}

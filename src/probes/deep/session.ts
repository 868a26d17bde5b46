/**
 * The run of one prepared deep probe: target written, programs attached, ring buffers polled, detached at the
 * deadline by a timer (and, independently, ignored by the kernel past it), then read and closed exactly once.
 * Probe modules supply the attach step and the read step; everything else (budget, deadline, drops, errors,
 * idempotent stop, cleanup on every path) lives here.
 */
import { TriplineError } from '../../errors.ts';
import type { BpfObject } from '../libbpf.ts';
import {
  checkTarget,
  deactivate,
  extendDeadline,
  monotonicNs,
  readStats,
  writeTarget,
  type DeepStats,
} from './target-map.ts';
import type { RingEvents } from './ring-events.ts';
import type { ProbeBudget, ProbeResult, ProbeTarget, RunningProbe } from './types.ts';

/** What a probe's read step hands back; the session adds the common fields. */
export type ProbeOutput = Pick<ProbeResult, 'summary'> &
  Partial<Pick<ProbeResult, 'stacks' | 'records' | 'redactions' | 'errors'>> & {
    /** Events dropped in user space (byte budget, decode failures), added to the kernel's drop count. */
    readonly userDropped?: number;
  };

/** How a probe plugs into a session. */
export interface SessionSpec {
  readonly probe: string;
  readonly obj: BpfObject;
  readonly target: ProbeTarget;
  readonly budget: ProbeBudget;
  /** Match the children of target pids too (forking servers). */
  readonly matchChildren?: boolean;
  /** Attaches the programs (after the target is written). @defaultValue every program of the object */
  attach?(obj: BpfObject): void;
  /**
   * The probe's ring buffer of events (ring-events.ts): drained while running and once after detach; records
   * that did not decode are added to the drops, with an error line.
   */
  readonly ring?: RingEvents<unknown>;
  /** Drains other ring buffers; called every `pollMs` while running and once after detach. */
  poll?(): void;
  /**
   * Reads maps and builds the probe's part of the result. Runs after detach; `stats` are the kernel counters,
   * `detachedNs` the monotonic time (bpf_ktime_get_ns clock) of the detach.
   */
  read(stats: DeepStats, detachedNs: bigint): ProbeOutput | Promise<ProbeOutput>;
}

/** Ring buffer poll interval: 256 KiB buffers and a few thousand events/s at most leave plenty of headroom. */
const POLL_MS = 100;

// Objects already started: a prepared probe runs once (its maps hold that run's data).
const started = new WeakSet<BpfObject>();

/** Writes the target, attaches, and returns the running probe. Any failure closes the object before it throws. */
export function startSession(spec: SessionSpec): RunningProbe & { cpuNs(): number; extend(ms: number): boolean } {
  const { obj, budget } = spec;
  if (started.has(obj)) {
    throw new TriplineError('PROBE_ERR_ATTACH', `${spec.probe}: this prepared probe was already started`, {
      hint: 'prepare() once per capture: a prepared probe runs once',
    });
  }
  started.add(obj);
  const startedAt = Date.now();
  let detachedAt = 0;
  let detachedNs = 0n;
  try {
    checkTarget(spec.probe, spec.target);
    writeTarget(obj, spec.target, budget, { matchChildren: spec.matchChildren });
    if (spec.attach) spec.attach(obj);
    else obj.attachAll();
  } catch (err) {
    obj.close();
    throw err;
  }
  const errors: string[] = [];
  const poll = (): void => {
    try {
      spec.ring?.consume();
      spec.poll?.();
    } catch (err) {
      if (errors.length < 10) errors.push(String((err as Error).message ?? err));
    }
  };
  const poller = spec.poll || spec.ring ? setInterval(poll, POLL_MS) : undefined;
  poller?.unref();
  const detach = (): void => {
    if (detachedAt) return;
    deactivate(obj);
    obj.detach();
    detachedAt = Date.now();
    detachedNs = monotonicNs();
    if (poller) clearInterval(poller);
  };
  // The time box: detach at the deadline even when nobody calls stop() in time.
  let deadlineAt = Date.now() + budget.durationMs;
  let deadline = setTimeout(detach, budget.durationMs);
  deadline.unref();

  let result: Promise<ProbeResult> | undefined;
  const finish = async (partial: boolean): Promise<ProbeResult> => {
    clearTimeout(deadline);
    try {
      detach();
      poll();
      const stats = readStats(obj);
      const out = await spec.read(stats, detachedNs);
      const undecoded = spec.ring?.decodeErrors ?? 0;
      const dropped = stats.dropped + (out.userDropped ?? 0) + undecoded;
      return {
        probe: spec.probe,
        startedAt,
        endedAt: detachedAt,
        // Cut short by the caller, or events dropped at the budget: valid but incomplete.
        partial: partial || dropped > 0,
        events: stats.events,
        dropped,
        errors: [
          ...errors,
          ...(out.errors ?? []),
          ...(undecoded ? [`${undecoded} ring buffer records could not be decoded`] : []),
          ...(stats.errors ? [`${stats.errors} in-kernel lookups failed (stack table full?)`] : []),
        ],
        stacks: out.stacks,
        records: out.records,
        summary: out.summary,
        redactions: out.redactions ?? [],
      };
    } finally {
      obj.close();
    }
  };
  // In-kernel run time of the programs (counted while BPF stats are enabled), for the capture's CPU cap.
  let lastCpuNs = 0;
  const cpuNs = (): number => {
    if (!result) {
      try {
        lastCpuNs = obj.programStats().reduce((s, p) => s + p.runTimeNs, 0);
      } catch {
        /* closed */
      }
    }
    return lastCpuNs;
  };
  return {
    stop(opts = {}) {
      if (!result) cpuNs(); // last reading before the object is closed
      result ??= finish(opts.partial ?? false);
      return result;
    },
    extend(ms) {
      if (detachedAt || result) return false;
      try {
        extendDeadline(obj, ms);
      } catch {
        return false;
      }
      deadlineAt += ms;
      clearTimeout(deadline);
      deadline = setTimeout(detach, Math.max(0, deadlineAt - Date.now()));
      deadline.unref();
      return true;
    },
    cpuNs,
  };
}

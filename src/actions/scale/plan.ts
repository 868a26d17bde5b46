/**
 * The scale decision (pure): from the diagnosis, the current replicas, the step and the bounds, either a desired
 * replica count or the reason not to scale, in words fit for the Slack thread.
 */
import type { Cause } from '../../bundle/types.ts';
import { TriplineError } from '../../errors.ts';

/** A parsed step: `+N` adds N replicas, `xF` multiplies by F and rounds up. */
export type Step = { readonly op: 'add'; readonly n: number } | { readonly op: 'mul'; readonly f: number };

/** Parses `+1`, `+3`, `x1.5`, `x2` (also `*2`); anything else is ACTION_ERR_CONFIG naming the fix. */
export function parseStep(text: string): Step {
  const t = text.trim();
  let m = /^\+(\d+)$/.exec(t);
  if (m && Number(m[1]) >= 1) return { op: 'add', n: Number(m[1]) };
  m = /^[x*×](\d+(?:\.\d+)?)$/.exec(t);
  if (m && Number(m[1]) > 1) return { op: 'mul', f: Number(m[1]) };
  throw new TriplineError('ACTION_ERR_CONFIG', `scale step ${JSON.stringify(text)} is not +N or xF`, {
    hint: 'write step: "+1" to add replicas or "x1.5" to multiply (F > 1)',
  });
}

/** What the plan needs to know. */
export interface PlanInput {
  readonly current: number;
  readonly step: string;
  /** The rule's bound on replicas. */
  readonly max: number;
  /** The bundle's diagnosis; undefined when no capture diagnosed the incident. */
  readonly cause?: Cause;
  /** Causes that allow scaling (`any` = always). */
  readonly whenCause: readonly string[];
  /** When an HPA owns the workload: its bounds (its max bounds us too). */
  readonly hpa?: { readonly minReplicas: number; readonly maxReplicas: number };
}

/** Either scale `from` → `to` (through `replicas` or the HPA's `minReplicas`), or not, with the reason. */
export type Plan =
  | { readonly scale: true; readonly from: number; readonly to: number; readonly via: 'replicas' | 'hpa-min' }
  | { readonly scale: false; readonly reason: string; readonly code: 'cause' | 'max' };

/** What each cause means, for the "did not scale" message. */
const CAUSE_WORDS: Record<string, string> = {
  'limit-bound': 'the workload is held by its own CPU limit',
  contention: 'the workload waits for CPU taken by neighbours on the node; more replicas would not help',
  // Not scaled by default: its own threads outnumber the CPUs it may use, which a bigger CPU limit or a smaller
  // thread pool fixes in every replica; more replicas help only when the load spreads over them (opt in with
  // when_cause: [self-contention]).
  'self-contention':
    'the workload has more runnable threads than the CPUs it may use; raise its CPU limit or shrink its thread pool',
  'lock-contention': 'its threads wait for each other on a lock; more replicas or CPU would not shorten the queue',
  'io-bound': 'it waits for storage; more replicas on the same storage would not help',
  'syscall-storm': 'it spends its time calling the kernel in a tight loop; the calling code is the fix',
  'memory-pressure': 'it stalls in memory reclaim; a higher memory limit is the fix',
  'app-bound': 'the workload is slow in its own code, not short of CPU',
  unknown: 'the evidence did not show why',
};

/**
 * The reason not to scale for this diagnosis, or undefined when the cause allows it (`any` always does). `lead` is
 * the diagnosis's one-line answer, cited in the message.
 */
export function causeVerdict(
  cause: Cause | undefined,
  whenCause: readonly string[],
  lead?: string,
): string | undefined {
  const allowed = whenCause.length === 0 ? ['limit-bound'] : whenCause;
  if (allowed.includes('any') || (cause !== undefined && allowed.includes(cause))) return undefined;
  const why = cause
    ? `diagnosis is ${cause}${lead ? ` (${lead})` : ''}: ${CAUSE_WORDS[cause] ?? cause}`
    : 'no diagnosis (no bundle)';
  return `Did not scale: ${why}. This rule scales only when the cause is ${allowed.join(' or ')}.`;
}

/** Decides whether and how far to scale. */
export function plan(input: PlanInput): Plan {
  const refused = causeVerdict(input.cause, input.whenCause);
  if (refused) return { scale: false, code: 'cause', reason: refused };
  const step = parseStep(input.step);
  const base = Math.max(input.current, input.hpa?.minReplicas ?? 0);
  // A multiplier always adds at least one replica (x1.5 of 1 is 2; of 0, 1).
  const stepped = step.op === 'add' ? base + step.n : Math.max(base + 1, Math.ceil(base * step.f));
  const ceiling = Math.min(input.max, input.hpa?.maxReplicas ?? Infinity);
  const to = Math.min(stepped, ceiling);
  if (to <= base) {
    return {
      scale: false,
      code: 'max',
      reason: `Did not scale: already at ${base} replicas, the maximum is ${ceiling}${input.hpa && input.hpa.maxReplicas < input.max ? " (the HPA's maxReplicas)" : ''}.`,
    };
  }
  return { scale: true, from: base, to, via: input.hpa ? 'hpa-min' : 'replicas' };
}

/**
 * Findings: the probes' results, the diagnosis and the baseline comparison turned into the culprits in plain
 * words (headlines) and the top lists the summary, Slack and the scale action use. Pure. Probe summaries are
 * read with tolerant schemas: a summary a probe shaped differently is reported as an error, never a crash.
 * Summary shapes read here: runqslower `{ delays, totalDelaySeconds, neighbours: Neighbour[] }`,
 * offcpu `{ runnableSeconds }`, profile `{ samples, frequencyHz }`,
 * syscalls `{ slowest: [{ syscall, pid, comm, seconds, args }] }`, pg `{ slowest: [{ query, seconds, pid }] }`,
 * http `{ findings: string[] }`.
 */
import { z } from 'zod';
import type { Findings, LiveStats, Neighbour, StackWeight } from '../bundle/types.ts';
import type { ProbeResult } from '../probes/deep/types.ts';
import type { HistoryPoint } from '../sampler/history.ts';
import { compareWindows, shiftText } from './compare.ts';
import { diagnose, isThrottleStack, type CgroupNamer, type ProbeEvidence, type RunqEvidence } from './diagnosis.ts';
import { windowStats } from './window.ts';

export interface FindingsInput {
  readonly results: readonly ProbeResult[];
  /** The target's cgroup id (decimal), to tell neighbours from its own threads. */
  readonly cgroupId?: string;
  /** Sampler history of the target before the trip, and during the capture. */
  readonly before: readonly HistoryPoint[];
  readonly during: readonly HistoryPoint[];
  readonly captureSeconds: number;
  /** Entries per top list. @defaultValue 5 */
  readonly top?: number;
  /** Names of a neighbour's cgroup path, for the headline and the diagnosis. */
  readonly nameOf?: CgroupNamer;
  /** The target measured by the capture itself (cpu.stat, usage, quota, PSI): findings.live and the diagnosis. */
  readonly live?: LiveStats;
}

const NeighbourIn = z.object({
  pid: z.number().int(),
  comm: z.string(),
  cgroupId: z.union([z.string(), z.number(), z.bigint()]).transform(String),
  cgroupPath: z.string().default(''),
  count: z.number().int().nonnegative(),
  delaySeconds: z.number().nonnegative(),
});
const RunqIn = z
  .object({
    delays: z.number().nonnegative(),
    totalDelaySeconds: z.number().nonnegative(),
    neighbours: z.array(NeighbourIn),
  })
  .transform((r) => ({ delays: r.delays, delaySeconds: r.totalDelaySeconds, neighbours: r.neighbours }));
const SyscallsIn = z.object({
  slowest: z.array(
    z.object({
      syscall: z.string(),
      pid: z.number().int(),
      comm: z.string(),
      seconds: z.number(),
      args: z.string().default(''),
    }),
  ),
});
const OffcpuIn = z.object({ runnableSeconds: z.number().nonnegative() });
const ProfileIn = z.object({
  samples: z.number().nonnegative(),
  frequencyHz: z.number().positive(),
  topFunctions: z.array(z.object({ name: z.string(), samples: z.number().nonnegative() })).default([]),
});
const SyscallWaitsIn = z.object({
  perSyscall: z
    .record(z.string(), z.object({ count: z.number().nonnegative(), seconds: z.number().nonnegative() }))
    .default({}),
  futexWaits: z
    .array(
      z.object({
        uaddr: z.string(),
        pid: z.number().int(),
        waits: z.number().int().nonnegative(),
        seconds: z.number().nonnegative(),
        threads: z.number().int().nonnegative(),
        holder: z.object({ tid: z.number().int(), comm: z.string() }).optional(),
      }),
    )
    .default([]),
  fileWaits: z
    .array(
      z.object({
        syscall: z.string(),
        pid: z.number().int(),
        fd: z.number().int(),
        calls: z.number().int().nonnegative(),
        seconds: z.number().nonnegative(),
        path: z.string().optional(),
      }),
    )
    .default([]),
});
const IoIn = z.object({
  requests: z.number().nonnegative(),
  p99Seconds: z.number().optional(),
  slowest: z.array(z.object({ disk: z.string().optional(), dev: z.string().optional(), seconds: z.number() })),
});
const PgIn = z.object({
  slowest: z.array(z.object({ query: z.string(), seconds: z.number(), pid: z.number().int() })),
});

const pct = (x: number): string => `${Math.round(x * 100)}%`;
function secs(s: number): string {
  return s < 1 ? `${+(s * 1000).toPrecision(3)} ms` : `${+s.toPrecision(3)} s`;
}
/** Leaf first, a few frames: how people read a hot stack. */
export function stackText(s: StackWeight, frames = 4): string {
  return [...s.frames].reverse().slice(0, frames).join(' ← ') || '[no frames]';
}

function topStacks(results: readonly ProbeResult[], unit: 'samples' | 'seconds', n: number): StackWeight[] {
  return results
    .flatMap((r) => (r.stacks ?? []).filter((s) => s.unit === unit))
    .sort((a, b) => b.weight - a.weight)
    .slice(0, n);
}

/** Builds the findings; `errors` lists probe summaries that could not be read. */
const HttpIn = z.object({ findings: z.array(z.string()) });

export function buildFindings(input: FindingsInput): { findings: Findings; errors: string[] } {
  const n = input.top ?? 5;
  const errors: string[] = [];
  const read = <T>(probe: string, schema: z.ZodType<T>): T | undefined => {
    const r = input.results.find((x) => x.probe === probe);
    if (!r) return undefined;
    const p = schema.safeParse(r.summary);
    if (!p.success) {
      errors.push(
        `${probe}: summary not understood (${p.error.issues[0]?.path.join('.')}: ${p.error.issues[0]?.message})`,
      );
      return undefined;
    }
    return p.data;
  };
  const runq = read('runqslower', RunqIn) as RunqEvidence | undefined;
  const syscalls = read('syscalls', SyscallsIn);
  const pg = read('pg', PgIn);
  // Waiting from the probes themselves: runnable seconds (those on throttling stacks apart) vs on-CPU seconds.
  const off = read('offcpu', OffcpuIn);
  const prof = read('profile', ProfileIn);
  const onCpuSeconds = prof ? prof.samples / prof.frequencyHz : undefined;
  const throttledSeconds = (input.results.find((r) => r.probe === 'offcpu')?.stacks ?? [])
    .filter((s) => s.unit === 'seconds' && s.reason === 'runnable' && isThrottleStack(s.frames))
    .reduce((a, s) => a + s.weight, 0);
  const probeWait =
    off && onCpuSeconds !== undefined
      ? {
          runnableSeconds: off.runnableSeconds,
          throttledSeconds: Math.min(throttledSeconds, off.runnableSeconds),
          onCpuSeconds,
        }
      : undefined;

  const duringStats = windowStats(input.during);
  const window = duringStats.points > 0 ? duringStats : windowStats(input.before.slice(-30));
  const stacksOf = (probe: string) => input.results.find((r) => r.probe === probe)?.stacks ?? [];
  const sys = input.results.some((r) => r.probe === 'syscalls') ? read('syscalls', SyscallWaitsIn) : undefined;
  const io = read('io', IoIn);
  const mem = input.live?.pressure.memory?.some;
  const probes: ProbeEvidence = {
    captureSeconds: input.captureSeconds,
    ...(off ? { offcpu: { stacks: stacksOf('offcpu') } } : {}),
    ...(prof
      ? {
          profile: {
            samples: prof.samples,
            hz: prof.frequencyHz,
            stacks: stacksOf('profile'),
            topFunctions: prof.topFunctions,
          },
        }
      : {}),
    ...(sys ? { syscalls: sys } : {}),
    ...(io ? { io } : {}),
    ...(mem !== undefined ? { memoryPsi: { some: mem, scope: input.live?.pressureScope } } : {}),
  };
  // Every capture is diagnosed: the CPU verdict and the causes beyond it, ranked (src/capture/diagnosis.ts).
  const diagnosis = diagnose({
    window,
    runq,
    cgroupId: input.cgroupId,
    captureSeconds: input.captureSeconds,
    probeWait,
    live: input.live,
    nameOf: input.nameOf,
    probes,
  });
  const neighbours: Neighbour[] = [...(runq?.neighbours ?? [])]
    .sort((a, b) => b.delaySeconds - a.delaySeconds)
    .slice(0, n);
  const topOnCpu = topStacks(input.results, 'samples', n);
  const topOffCpu = topStacks(input.results, 'seconds', n);
  const slowSyscalls = [...(syscalls?.slowest ?? [])].sort((a, b) => b.seconds - a.seconds).slice(0, n);
  const slowQueries = [...(pg?.slowest ?? [])].sort((a, b) => b.seconds - a.seconds).slice(0, n);
  const cmp = compareWindows(input.before, input.during);

  // The answer first: cause, culprit, number; then the other causes that apply, then the details.
  const headlines: string[] = [];
  const hasEvidence = diagnosis.cause !== 'unknown' || Object.keys(diagnosis.evidence).length > 1;
  if (diagnosis.lead && hasEvidence) headlines.push(diagnosis.lead);
  for (const a of diagnosis.also ?? [])
    headlines.push(`also ${a.cause}${a.culprit ? ` (${a.culprit})` : ''}: ${a.summary}`);
  const l = input.live;
  if (l && l.samples > 1)
    headlines.push(
      `measured during the capture (${l.samples} readings of cpu.stat over ${+l.seconds.toFixed(1)} s): ` +
        (l.throttledRatio !== undefined
          ? `throttled in ${pct(l.throttledRatio)} of ${l.cpuPeriods} CFS periods`
          : 'no CFS periods') +
        (l.usageCores !== undefined ? `, ${+l.usageCores.toFixed(2)} cores used` : '') +
        (l.quotaCores !== undefined ? ` of a ${+l.quotaCores.toFixed(2)}-core quota` : ', no quota') +
        (l.pressure.cpu?.some !== undefined
          ? `, CPU pressure ${pct(l.pressure.cpu.some)} (${l.pressureScope} level)`
          : ''),
    );
  const onTotal = input.results
    .flatMap((r) => r.stacks ?? [])
    .filter((s) => s.unit === 'samples')
    .reduce((a, s) => a + s.weight, 0);
  if (topOnCpu[0])
    headlines.push(`hottest on-CPU stack (${pct(topOnCpu[0].weight / onTotal)} of samples): ${stackText(topOnCpu[0])}`);
  if (topOffCpu[0])
    headlines.push(
      `most off-CPU time (${secs(topOffCpu[0].weight)}${topOffCpu[0].reason ? `, ${topOffCpu[0].reason}` : ''}): ${stackText(topOffCpu[0])}`,
    );
  if (slowSyscalls[0])
    headlines.push(
      `slowest syscall: ${slowSyscalls[0].syscall} took ${secs(slowSyscalls[0].seconds)} in pid ${slowSyscalls[0].pid} (${slowSyscalls[0].comm})`,
    );
  if (slowQueries[0])
    headlines.push(`slowest query: ${secs(slowQueries[0].seconds)} for ${slowQueries[0].query.slice(0, 80)}`);
  for (const line of read('http', HttpIn)?.findings.slice(0, 3) ?? []) headlines.push(line);
  if (cmp.moved.length > 0)
    headlines.push(`moved against the window before the trip: ${cmp.moved.slice(0, 3).map(shiftText).join('; ')}`);
  for (const r of input.results)
    if (r.dropped > 0)
      headlines.push(`${r.probe} dropped ${r.dropped} events (budget or full buffers): its numbers are a lower bound`);

  return {
    findings: {
      diagnosis,
      ...(input.live ? { live: input.live } : {}),
      headlines,
      neighbours,
      topOnCpu,
      topOffCpu,
      slowSyscalls,
      slowQueries,
      shifts: cmp.shifts,
    },
    errors,
  };
}

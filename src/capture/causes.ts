/**
 * The causes beyond the CPU (pure): lock contention, I/O, syscall storms, memory pressure, and the hot function of
 * a CPU app-bound target, each with its culprit and its share of the target's busy time, from the deep probes:
 * - offcpu's blocked and runnable stacks, classified by their frames (classify.ts);
 * - profile's on-CPU samples (the hot function, time in syscalls and in reclaim);
 * - syscalls' counts per syscall and its slow calls grouped by lock address and by file (syscall-waits.ts);
 * - io's slowest block requests (the device);
 * - the capture's PSI readings (memory).
 * Busy time = on CPU + waiting for a CPU + throttled + blocked on a lock, I/O or reclaim; other blocking (epoll,
 * sleeps, condition variables) is idling and not a cause. A cause is named at CAUSE_MIN_SHARE of busy time.
 */
import type { CauseFinding, StackWeight } from '../bundle/types.ts';
import type { FileWait, FutexWait } from '../probes/deep/syscall-waits.ts';
import {
  classifyOffcpu,
  isReclaimStack,
  leafFirst,
  syscallCaller,
  syscallOfStack,
  type OffcpuTime,
} from './classify.ts';

/** A cause accounts for at least this share of the target's busy time to be named. */
const CAUSE_MIN_SHARE = 0.2;
/** Memory reclaim or PSI memory stall at this share is named: reclaim stalls everything behind it. */
const MEMORY_MIN_SHARE = 0.1;
/** Calls per second of one syscall that make a storm (with the time in it at CAUSE_MIN_SHARE). */
const STORM_RATE = 10_000;
/**
 * Mean time in the kernel per call at most this: the calls are cheap, their cost is the calling (a read copying
 * megabytes a second at 30k calls/s is work done in the kernel, not a storm).
 */
const STORM_MAX_CALL_SECONDS = 5e-6;
/** On CPU at least this share of busy time, with no other cause, is CPU app-bound. */
const ON_CPU_HIGH = 0.5;

/** What the deep probes said, read by src/capture/findings.ts from their summaries and stacks. */
export interface ProbeEvidence {
  readonly captureSeconds: number;
  readonly offcpu?: { readonly stacks: readonly StackWeight[] };
  readonly profile?: {
    readonly samples: number;
    readonly hz: number;
    readonly stacks: readonly StackWeight[];
    readonly topFunctions: readonly { readonly name: string; readonly samples: number }[];
  };
  readonly syscalls?: {
    readonly perSyscall: Readonly<Record<string, { readonly count: number; readonly seconds: number }>>;
    readonly futexWaits: readonly FutexWait[];
    readonly fileWaits: readonly FileWait[];
  };
  readonly io?: {
    readonly requests: number;
    readonly p99Seconds?: number;
    readonly slowest: readonly { readonly disk?: string; readonly dev?: string; readonly seconds: number }[];
  };
  /** PSI memory `some` over the capture, 0..1, and whose it is. */
  readonly memoryPsi?: { readonly some: number; readonly scope?: 'cgroup' | 'node' };
}

/** A cause that applies, with its lead line (cause, culprit, number). */
export interface RankedCause extends CauseFinding {
  readonly lead: string;
}

const pct = (x: number): string => `${Math.round(x * 100)}%`;
const secs = (s: number): string => (s < 1 ? `${+(s * 1000).toPrecision(3)} ms` : `${+s.toPrecision(3)} s`);
const rate = (r: number): string => (r >= 1000 ? `${+(r / 1000).toPrecision(3)}k/s` : `${Math.round(r)}/s`);

/** The target's time split by what it was doing, in thread-seconds over the capture. */
export interface TimeSplit extends OffcpuTime {
  readonly onCpu: number;
  /** On CPU in reclaim (profile samples in reclaim frames). */
  readonly onCpuReclaim: number;
  /** onCpu + runnable + throttled + lock + io + memory (+ onCpuReclaim is inside onCpu). */
  readonly busy: number;
}

/** Splits the target's time; undefined without offcpu or profile (no way to weigh causes against each other). */
export function timeSplit(ev: ProbeEvidence): TimeSplit | undefined {
  if (!ev.offcpu && !ev.profile) return undefined;
  const off = classifyOffcpu(ev.offcpu?.stacks ?? [], ev.syscalls?.futexWaits ?? []);
  const p = ev.profile;
  const onCpu = p && p.hz > 0 ? p.samples / p.hz : 0;
  const reclaimSamples = (p?.stacks ?? []).filter((s) => isReclaimStack(s.frames)).reduce((a, s) => a + s.weight, 0);
  const onCpuReclaim = p && p.samples > 0 ? (onCpu * reclaimSamples) / p.samples : 0;
  const busy = onCpu + off.runnable + off.throttled + off.lock + off.io + off.memory;
  return { ...off, onCpu, onCpuReclaim, busy };
}

/** Lock contention: blocked on mutex-like futex waits. */
function lockCause(ev: ProbeEvidence, t: TimeSplit): RankedCause | undefined {
  const share = t.busy > 0 ? t.lock / t.busy : 0;
  if (share < CAUSE_MIN_SHARE || !t.lockStack) return undefined;
  const offTotal = t.blockedTotal + t.runnable + t.throttled;
  const w = ev.syscalls?.futexWaits[0];
  const lock = w
    ? `lock ${w.uaddr} in pid ${w.pid}: ${w.waits} waits by ${w.threads} thread${w.threads === 1 ? '' : 's'}` +
      (w.holder ? `, held by tid ${w.holder.tid} (${w.holder.comm})` : '')
    : '';
  const stack = leafFirst(t.lockStack.frames, 5);
  return {
    cause: 'lock-contention',
    share,
    culprit: `${stack}${lock ? `; ${lock}` : ''}`,
    lead: `lock contention: ${pct(offTotal > 0 ? t.lock / offTotal : 0)} of off-CPU time in ${stack}${lock ? ` (${lock})` : ''}`,
    summary: `blocked on a lock for ${secs(t.lock)} of ${secs(t.busy)} busy thread time (${pct(share)})`,
  };
}

/** I/O-bound: blocked in block I/O or file flushes. */
function ioCause(ev: ProbeEvidence, t: TimeSplit): RankedCause | undefined {
  const fw = ev.syscalls?.fileWaits[0];
  const ioTime = Math.max(t.io, t.offcpuSeen ? 0 : (fw?.seconds ?? 0));
  const share = t.busy > 0 ? ioTime / t.busy : 0;
  if (share < CAUSE_MIN_SHARE) return undefined;
  const file = fw
    ? `${fw.syscall} on fd ${fw.fd}${fw.path ? ` (${fw.path})` : ''} in pid ${fw.pid}: ${fw.calls} slow calls, ${secs(fw.seconds)}`
    : '';
  const top = ev.io?.slowest[0];
  const dev = top ? (top.disk ?? top.dev) : undefined;
  const device = dev
    ? `device ${dev}${ev.io?.p99Seconds !== undefined ? ` (p99 ${secs(ev.io.p99Seconds)} over ${ev.io.requests} requests)` : ''}`
    : '';
  const where = [file, device].filter(Boolean).join('; ');
  const stack = t.ioStack ? leafFirst(t.ioStack.frames, 4) : '';
  return {
    cause: 'io-bound',
    share,
    culprit: where || stack || undefined,
    lead: `I/O-bound: ${pct(share)} of busy time blocked on I/O${where ? ` — ${where}` : stack ? ` in ${stack}` : ''}`,
    summary: `blocked on storage for ${secs(ioTime)} of ${secs(t.busy)} busy thread time (${pct(share)})${stack ? `, mostly in ${stack}` : ''}`,
  };
}

/** Syscall storm: one syscall called so often that the time goes into calling it. */
function stormCause(ev: ProbeEvidence, t: TimeSplit): RankedCause | undefined {
  const p = ev.profile;
  // Samples in each syscall's kernel path (the profile names it even without the syscalls probe).
  const bySys = new Map<string, { samples: number; stack?: StackWeight }>();
  for (const s of p?.stacks ?? []) {
    const name = syscallOfStack(s.frames);
    if (name === undefined) continue;
    const g = bySys.get(name) ?? { samples: 0 };
    g.samples += s.weight;
    if (!g.stack || s.weight > g.stack.weight) g.stack = s;
    bySys.set(name, g);
  }
  const counts = Object.entries(ev.syscalls?.perSyscall ?? {}).sort((a, b) => b[1].count - a[1].count);
  const [byCount] = counts;
  const topSampled = [...bySys.entries()].filter(([n]) => n).sort((a, b) => b[1].samples - a[1].samples)[0];
  const name = byCount?.[0] ?? topSampled?.[0];
  if (!name) return undefined;
  // Samples in the syscall path that name no call go to the call the syscalls probe counted most.
  const unnamed = bySys.get('');
  if (unnamed && byCount) {
    const g = bySys.get(name) ?? { samples: 0 };
    bySys.set(name, { samples: g.samples + unnamed.samples, stack: heaviest(g.stack, unnamed.stack) });
  }
  // The rate and the cost per call come from the syscalls probe: without it, no storm is claimed.
  const counted = ev.syscalls?.perSyscall[name];
  if (!counted || counted.count === 0 || ev.captureSeconds <= 0) return undefined;
  const r = counted.count / ev.captureSeconds;
  if (r < STORM_RATE || counted.seconds / counted.count > STORM_MAX_CALL_SECONDS) return undefined;
  const sampled = bySys.get(name);
  const fromProfile = p && p.samples > 0 && sampled ? (t.onCpu * sampled.samples) / p.samples : undefined;
  const inCall = fromProfile ?? counted.seconds;
  const share = t.busy > 0 ? Math.min(1, inCall / t.busy) : 0;
  if (share < CAUSE_MIN_SHARE) return undefined;
  const stack = sampled?.stack ? syscallCaller(sampled.stack.frames, 5) : '';
  const rateText = `${rate(r)} (${+((counted.seconds / counted.count) * 1e6).toPrecision(2)} µs each in the kernel)`;
  return {
    cause: 'syscall-storm',
    share,
    culprit: `${name} at ${rateText}${stack ? ` from ${stack}` : ''}`,
    lead: `syscall storm: ${name} at ${rateText}, ${pct(share)} of busy time in the call${stack ? `, from ${stack}` : ''}`,
    summary: `${name} called ${Math.round(r)} times a second; ${pct(share)} of the target's busy time goes into the call itself`,
  };
}

function heaviest(a: StackWeight | undefined, b: StackWeight | undefined): StackWeight | undefined {
  return !a || (b && b.weight > a.weight) ? b : a;
}

/** Memory pressure: reclaim on or off CPU, or PSI memory stall. */
function memoryCause(ev: ProbeEvidence, t: TimeSplit): RankedCause | undefined {
  const reclaim = t.memory + t.onCpuReclaim;
  const reclaimShare = t.busy > 0 ? reclaim / t.busy : 0;
  const psi = ev.memoryPsi?.some ?? 0;
  const share = Math.max(reclaimShare, psi);
  if (share < MEMORY_MIN_SHARE) return undefined;
  const stack = t.memoryStack ? leafFirst(t.memoryStack.frames, 4) : '';
  const psiText = ev.memoryPsi ? `PSI memory some ${pct(psi)} (${ev.memoryPsi.scope ?? 'node'} level)` : '';
  return {
    cause: 'memory-pressure',
    share,
    culprit: [psiText, stack && `reclaim in ${stack}`].filter(Boolean).join('; ') || undefined,
    lead: `memory pressure: ${[psiText, `${pct(reclaimShare)} of busy time in reclaim${stack ? ` (${stack})` : ''}`].filter(Boolean).join(', ')}`,
    summary: `stalled on memory: ${secs(reclaim)} of ${secs(t.busy)} busy thread time in reclaim or compaction${psiText ? `, ${psiText}` : ''}`,
  };
}

/** The hot function of a target that runs: on CPU most of its busy time. */
export function hotFunction(ev: ProbeEvidence, t: TimeSplit | undefined): RankedCause | undefined {
  const p = ev.profile;
  const top = p?.topFunctions[0];
  if (!p || !top || p.samples <= 0 || !t) return undefined;
  const onShare = t.busy > 0 ? t.onCpu / t.busy : 0;
  if (onShare < ON_CPU_HIGH) return undefined;
  const share = top.samples / p.samples;
  return {
    cause: 'app-bound',
    share: onShare,
    culprit: `${top.name} (${pct(share)} of samples)`,
    lead: `CPU app-bound: ${pct(share)} of on-CPU samples in ${top.name}, on CPU ${pct(onShare)} of busy time`,
    summary: `running, not waiting: on CPU ${pct(onShare)} of busy thread time; the hottest function is ${top.name} with ${pct(share)} of samples`,
  };
}

/** Every non-CPU cause that applies, strongest first. */
export function otherCauses(ev: ProbeEvidence, t: TimeSplit | undefined): RankedCause[] {
  if (!t) return [];
  return [lockCause(ev, t), ioCause(ev, t), stormCause(ev, t), memoryCause(ev, t)]
    .filter((c): c is RankedCause => c !== undefined)
    .sort((a, b) => b.share - a.share);
}

/** What was checked and found normal, one phrase each (the unknown diagnosis lists them all). */
export function checkedNormal(ev: ProbeEvidence, t: TimeSplit | undefined, named: readonly string[]): string[] {
  const out: string[] = [];
  const b = t?.busy ?? 0;
  const share = (x: number) => (b > 0 ? pct(x / b) : 'n/a');
  if (t && !named.includes('lock-contention')) out.push(`locks: ${share(t.lock)} of busy time in futex waits`);
  if (t && !named.includes('io-bound')) out.push(`I/O: ${share(t.io)} of busy time blocked on storage`);
  if (!named.includes('memory-pressure'))
    out.push(
      `memory: ${t ? `${share(t.memory + t.onCpuReclaim)} in reclaim` : 'reclaim not measured'}${ev.memoryPsi ? `, PSI some ${pct(ev.memoryPsi.some)}` : ''}`,
    );
  if (ev.syscalls && !named.includes('syscall-storm')) {
    const [top] = Object.entries(ev.syscalls.perSyscall).sort((a, c) => c[1].count - a[1].count);
    out.push(
      top && ev.captureSeconds > 0
        ? `syscalls: busiest ${top[0]} at ${rate(top[1].count / ev.captureSeconds)}`
        : 'syscalls: none',
    );
  }
  if (t) out.push(`on CPU ${share(t.onCpu)}, waiting for a CPU ${share(t.runnable)}, throttled ${share(t.throttled)}`);
  return out;
}

/**
 * offcpu: time the target spends off CPU, by stack and reason (bpf/deep/offcpu.bpf.c, sched_switch).
 * Result: `stacks` (unit 'seconds', reason 'blocked' — slept, waited for I/O or a lock — or 'runnable' — preempted
 * and waiting for a CPU; frames root first, user then kernel) and `summary` { blockedSeconds, runnableSeconds,
 * inProgressSeconds, spells, distinctStacks, top: {reason, seconds, comm, stack}[] }. Spells still running at the
 * end count up to the detach (inProgressSeconds); spells that began before the capture are not seen.
 * Options: min_us (spells shorter than this are ignored, default 1).
 */
import { z } from 'zod';
import { Symbolizer } from '../../symbols/symbolizer.ts';
import type { StackWeight } from './evidence.ts';
import { openProbeObject } from './open-probe.ts';
import { parseOptions } from './options.ts';
import { startSession } from './session.ts';
import { mergeStacks, stackReader, trackTarget } from './stacks.ts';
import type { CatalogProbe } from './types.ts';
import { num, count } from './summary.ts';

/** sizeof(struct offcpu_key) and struct offcpu_val in bpf/deep/offcpu.h. */
export const OFFCPU_KEY_SIZE = 36;
export const OFFCPU_VAL_SIZE = 16;
export const OFFCPU_SPELL_SIZE = 40;
/** Struct layouts of bpf/deep/offcpu.h, checked against the object's BTF at load and by test/bpf/spec.test.ts. */
export const OFFCPU_LAYOUTS = {
  offcpu_key: { size: OFFCPU_KEY_SIZE, fields: { reason: 16, comm: 20 } },
  offcpu_val: { size: OFFCPU_VAL_SIZE },
  offcpu_spell: { size: OFFCPU_SPELL_SIZE, fields: { reason: 16, tgid: 20, comm: 24 } },
} as const;
const REASONS: Record<number, OffcpuReason> = { 1: 'blocked', 2: 'runnable' };

/** Why a task was off CPU. */
export type OffcpuReason = 'blocked' | 'runnable';

/** Options of `capture.options.offcpu`. */
export const offcpuOptions = z
  .object({
    /** Off-CPU spells shorter than this (µs) are not counted. @defaultValue 1 */
    min_us: z.number().int().min(0).max(10_000_000).default(1),
  })
  .strict();

/** One decoded offcpu_ns entry. */
export interface OffcpuEntry {
  readonly tgid: number;
  readonly pid: number;
  readonly kstack: number;
  readonly ustack: number;
  readonly reason: OffcpuReason;
  readonly comm: string;
  readonly totalNs: bigint;
  readonly count: number;
}

/** Decodes an offcpu_ns entry; rejects buffers of other sizes. */
export function decodeOffcpu(key: Buffer, value: Buffer): OffcpuEntry {
  if (key.length !== OFFCPU_KEY_SIZE)
    throw new RangeError(`offcpu_key: ${key.length} bytes, expected ${OFFCPU_KEY_SIZE}`);
  if (value.length !== OFFCPU_VAL_SIZE)
    throw new RangeError(`offcpu_val: ${value.length} bytes, expected ${OFFCPU_VAL_SIZE}`);
  const nul = key.indexOf(0, 20);
  return {
    tgid: key.readUInt32LE(0),
    pid: key.readUInt32LE(4),
    kstack: key.readInt32LE(8),
    ustack: key.readInt32LE(12),
    reason: REASONS[key.readUInt32LE(16)] ?? 'blocked',
    comm: key.toString('utf8', 20, nul < 0 || nul > 36 ? 36 : nul),
    totalNs: value.readBigUInt64LE(0),
    count: Number(value.readBigUInt64LE(8)),
  };
}

/** A spell still in progress at stop (offcpu_start). */
export interface OffcpuSpell {
  readonly ts: bigint;
  readonly kstack: number;
  readonly ustack: number;
  readonly reason: OffcpuReason;
  readonly tgid: number;
  readonly comm: string;
}

/** Decodes struct offcpu_spell; rejects buffers of other sizes. */
export function decodeSpell(b: Buffer): OffcpuSpell {
  if (b.length !== OFFCPU_SPELL_SIZE)
    throw new RangeError(`offcpu_spell: ${b.length} bytes, expected ${OFFCPU_SPELL_SIZE}`);
  const nul = b.indexOf(0, 24);
  return {
    ts: b.readBigUInt64LE(0),
    kstack: b.readInt32LE(8),
    ustack: b.readInt32LE(12),
    reason: REASONS[b.readUInt32LE(16)] ?? 'blocked',
    tgid: b.readUInt32LE(20),
    comm: b.toString('utf8', 24, nul < 0 || nul > 40 ? 40 : nul),
  };
}

/** Shape of `ProbeResult.summary` (see the module comment). */
export const offcpuSummary = z.object({
  blockedSeconds: num,
  runnableSeconds: num,
  inProgressSeconds: num,
  spells: count,
  distinctStacks: count,
  top: z.array(
    z.object({ reason: z.enum(['blocked', 'runnable']), seconds: num, comm: z.string().optional(), stack: z.string() }),
  ),
});

/** The offcpu deep probe. */
export const offcpu = {
  name: 'offcpu',
  description: 'Off-CPU time of the target by kernel + user stack, blocked vs runnable-but-waiting',
  options: offcpuOptions,
  summary: offcpuSummary,
  budget: { maxEvents: 200_000, maxBytes: 16 << 20 },
  doc: {
    what: 'off-CPU time by stack, blocked vs runnable',
    hooks: '`tp_btf/sched_switch` (raw_tp twin)',
    cost: 'per-switch',
  },
  prepare(ctx) {
    const opts = parseOptions('offcpu', offcpuOptions, ctx.options);
    const obj = openProbeObject(ctx, 'offcpu', {
      twins: { tpBtf: ['tld_off_switch'] },
      rodata: { min_ns: BigInt(opts.min_us) * 1000n },
      layouts: OFFCPU_LAYOUTS,
    });
    return {
      close: () => obj.close(),
      start(target, budget) {
        const sym = new Symbolizer();
        trackTarget(sym, target);
        return startSession({
          probe: 'offcpu',
          obj,
          target,
          budget,
          attach: (o) => o.attachAll(),
          read: (_stats, detachedNs) => {
            const stack = stackReader(obj.map('offcpu_stacks'));
            const items: (StackWeight & { frames: string[]; weight: number })[] = [];
            const totals = { blocked: 0, runnable: 0 };
            let spells = 0;
            for (const { key, value } of obj.map('offcpu_ns').entries()) {
              const e = decodeOffcpu(key, value);
              const seconds = Number(e.totalNs) / 1e9;
              totals[e.reason] += seconds;
              spells += e.count;
              const frames = sym.stack(e.tgid, stack(e.kstack), stack(e.ustack));
              if (frames.length === 0) frames.push('[no stack]');
              items.push({ frames, weight: seconds, unit: 'seconds', comm: e.comm, reason: e.reason });
            }
            // Threads still off CPU at the end: their spell so far counts too (a task asleep in a long wait is the
            // usual culprit, and its switch-in may never come within the time box).
            let inProgressSeconds = 0;
            for (const { value } of obj.map('offcpu_start').entries()) {
              const sp = decodeSpell(value);
              if (detachedNs <= sp.ts || detachedNs - sp.ts < BigInt(opts.min_us) * 1000n) continue;
              const seconds = Number(detachedNs - sp.ts) / 1e9;
              const frames = sym.stack(sp.tgid, stack(sp.kstack), stack(sp.ustack));
              // A task that exited switched out for good (its last switch is in do_task_dead): not waiting.
              if (frames.includes('do_task_dead')) continue;
              inProgressSeconds += seconds;
              totals[sp.reason] += seconds;
              if (frames.length === 0) frames.push('[no stack]');
              items.push({ frames, weight: seconds, unit: 'seconds', comm: sp.comm, reason: sp.reason });
            }
            const stacks = mergeStacks(items);
            const top = stacks
              .slice(0, 10)
              .map((s) => ({ reason: s.reason, seconds: s.weight, comm: s.comm, stack: s.frames.slice(-6).join(';') }));
            return {
              stacks,
              errors: sym.notes(), // hostile files of the target: frames left unresolved, with why
              summary: {
                blockedSeconds: totals.blocked,
                runnableSeconds: totals.runnable,
                inProgressSeconds,
                spells,
                distinctStacks: stacks.length,
                top,
              },
            };
          },
        });
      },
    };
  },
} satisfies CatalogProbe & { options: typeof offcpuOptions };

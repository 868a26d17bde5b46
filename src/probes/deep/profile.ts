/**
 * profile: on-CPU stack sampling of the target (bpf/deep/profile.bpf.c), software cpu-clock perf events on every CPU.
 * Result: `stacks` (unit 'samples', frames root first: user frames then kernel frames, one entry per distinct
 * stack and comm) and `summary` { samples, frequencyHz, cpus, distinctStacks, topFunctions: {name, samples}[] }
 * where topFunctions counts the leaf-most user frame of each sample.
 * Options: frequency_hz (1..1000, default 99).
 */
import { z } from 'zod';
import { possibleCpus, onlineCpus } from '../libbpf.ts';
import { Symbolizer } from '../../symbols/symbolizer.ts';
import type { StackWeight } from './evidence.ts';
import { openProbeObject } from './open-probe.ts';
import { parseOptions } from './options.ts';
import { startSession } from './session.ts';
import { mergeStacks, stackReader, trackTarget } from './stacks.ts';
import type { CatalogProbe } from './types.ts';
import { num, count } from './summary.ts';

/** sizeof(struct profile_key) in bpf/deep/profile.h. */
export const PROFILE_KEY_SIZE = 32;
/** Struct layouts of bpf/deep/profile.h, checked against the object's BTF at load and by test/bpf/spec.test.ts. */
export const PROFILE_LAYOUTS = {
  profile_key: { size: PROFILE_KEY_SIZE, fields: { kstack: 8, ustack: 12, comm: 16 } },
} as const;

/** Options of `capture.options.profile`. */
export const profileOptions = z
  .object({
    /** Samples per second per CPU. @defaultValue 99 (off the beat of 100 Hz timers) */
    frequency_hz: z.number().int().min(1).max(1000).default(99),
  })
  .strict();

/** One decoded profile_counts entry. */
export interface ProfileKey {
  readonly tgid: number;
  readonly pid: number;
  readonly kstack: number;
  readonly ustack: number;
  readonly comm: string;
}

/** Decodes struct profile_key; rejects a buffer of any other size. */
export function decodeProfileKey(b: Buffer): ProfileKey {
  if (b.length !== PROFILE_KEY_SIZE)
    throw new RangeError(`profile_key: ${b.length} bytes, expected ${PROFILE_KEY_SIZE}`);
  const nul = b.indexOf(0, 16);
  return {
    tgid: b.readUInt32LE(0),
    pid: b.readUInt32LE(4),
    kstack: b.readInt32LE(8),
    ustack: b.readInt32LE(12),
    comm: b.toString('utf8', 16, nul < 0 || nul > 32 ? 32 : nul),
  };
}

/** Shape of `ProbeResult.summary` (see the module comment). */
export const profileSummary = z.object({
  samples: count,
  frequencyHz: num,
  cpus: count,
  possibleCpus: count,
  distinctStacks: count,
  topFunctions: z.array(z.object({ name: z.string(), samples: count })),
});

/** The profile deep probe. */
export const profile = {
  name: 'profile',
  description: 'On-CPU stacks of the target (kernel + user), sampled by software cpu-clock perf events',
  options: profileOptions,
  summary: profileSummary,
  budget: { maxEvents: 200_000, maxBytes: 16 << 20 },
  doc: {
    what: 'on-CPU stacks',
    hooks: 'perf event, software cpu-clock, every CPU',
    cost: 'sampled',
  },
  prepare(ctx) {
    const opts = parseOptions('profile', profileOptions, ctx.options);
    const obj = openProbeObject(ctx, 'profile', {
      layouts: PROFILE_LAYOUTS,
    });
    return {
      close: () => obj.close(),
      start(target, budget) {
        const sym = new Symbolizer();
        trackTarget(sym, target);
        const cpus = onlineCpus();
        return startSession({
          probe: 'profile',
          obj,
          target,
          budget,
          attach: (o) => o.attachPerfEvent('tld_prof_sample', { frequency: opts.frequency_hz, cpus }),
          read: () => {
            const stack = stackReader(obj.map('profile_stacks'));
            const items: (StackWeight & { frames: string[]; weight: number })[] = [];
            const leaf = new Map<string, number>();
            let samples = 0;
            for (const { key, value } of obj.map('profile_counts').entries()) {
              const k = decodeProfileKey(key);
              const n = Number(value.readBigUInt64LE(0));
              samples += n;
              const user = stack(k.ustack);
              const frames = sym.stack(k.tgid, stack(k.kstack), user);
              if (frames.length === 0) frames.push('[no stack]');
              items.push({ frames, weight: n, unit: 'samples', comm: k.comm });
              const top = user.length ? sym.user(k.tgid, user[0]) : '[kernel]';
              leaf.set(top, (leaf.get(top) ?? 0) + n);
            }
            const stacks = mergeStacks(items);
            const topFunctions = [...leaf]
              .map(([name, n]) => ({ name, samples: n }))
              .sort((a, b) => b.samples - a.samples)
              .slice(0, 20);
            return {
              stacks,
              // Files of the target refused as hostile (a FIFO perf map, a link out of its root, …): frames stay
              // unresolved and the bundle says why.
              errors: sym.notes(),
              summary: {
                samples,
                frequencyHz: opts.frequency_hz,
                cpus: cpus.length,
                possibleCpus: possibleCpus(),
                distinctStacks: stacks.length,
                topFunctions,
              },
            };
          },
        });
      },
    };
  },
} satisfies CatalogProbe & { options: typeof profileOptions };

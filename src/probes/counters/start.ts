/**
 * Starts the enabled counter families: a family that cannot run here is listed as unavailable with its reason
 * (exported on /metrics as tripline_engine_family_unavailable) and the engine carries on; `strict` makes it fatal.
 */
import { TriplineError } from '../../errors.ts';
import type { CounterContext, CounterFactory, CounterFamily } from './types.ts';

/** A family that could not start here, and why (exported on /metrics as tripline_engine_family_unavailable). */
export interface UnavailableFamily {
  readonly family: string;
  readonly reason: string;
}

export interface StartOptions {
  /** Family names to start, in this order. @defaultValue ctx.config.counters.enabled */
  readonly enabled?: readonly string[];
  /** Skip families that need BPF (`tripline run --no-bpf`). */
  readonly noBpf?: boolean;
  /** Throw the first start failure instead of listing it. */
  readonly strict?: boolean;
}

/** The started families and the ones that could not start (with the reason). */
export function startFamilies(
  registry: Readonly<Record<string, CounterFactory>>,
  ctx: CounterContext,
  opts: StartOptions = {},
): { families: CounterFamily[]; unavailable: UnavailableFamily[] } {
  const families: CounterFamily[] = [];
  const unavailable: UnavailableFamily[] = [];
  for (const name of opts.enabled ?? ctx.config.counters.enabled) {
    const factory = registry[name];
    if (!factory) {
      const err = new TriplineError('CONFIG_ERR_INVALID', `counters.enabled: unknown family ${JSON.stringify(name)}`, {
        hint: `known: ${Object.keys(registry).join(', ')}`,
      });
      if (opts.strict) throw err;
      unavailable.push({ family: name, reason: err.describe() });
      continue;
    }
    if (opts.noBpf && factory.bpf) {
      unavailable.push({ family: name, reason: 'needs BPF (--no-bpf)' });
      continue;
    }
    try {
      families.push(factory.start(ctx));
    } catch (err) {
      if (opts.strict) {
        for (const f of families) f.close();
        throw err;
      }
      unavailable.push({
        family: name,
        reason: err instanceof TriplineError ? err.describe() : String((err as Error)?.message ?? err),
      });
    }
  }
  return { families, unavailable };
}

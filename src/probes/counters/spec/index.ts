/**
 * The counter families' descriptors, by name: the pure half of the counter registry (src/probes/counters/index.ts
 * holds the runtime half, one line per family, checked by the compiler to have the same keys). The signal catalog
 * (src/signals.ts), the config's `counters:` section, /metrics' histogram ranges and the default deep probes of
 * a capture plan are derived from here. Adding a family: one spec file and one line here.
 */
import { runq } from './runq.ts';
import { syscalls } from './syscalls.ts';
import { tcp } from './tcp.ts';
import { blockio } from './blockio.ts';
import { pg } from './pg.ts';
import { http } from './http.ts';
import { cpustat } from './cpustat.ts';
import { psi } from './psi.ts';

/** Descriptors by family name, in the order families start (BPF first, then file-based). */
export const FAMILY_SPECS = { runq, syscalls, tcp, blockio, pg, http, cpustat, psi } as const;

type Specs = typeof FAMILY_SPECS;
/** Name of a counter family. */
export type FamilyName = keyof Specs;
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** Every family's signals, merged (names are unique across families: test/probes/counters/spec.test.ts). */
export type FamilySignals = UnionToIntersection<Specs[FamilyName]['signals']>;

/** Every family name, in registry order. */
export const FAMILY_NAMES = Object.keys(FAMILY_SPECS) as [FamilyName, ...FamilyName[]];

/** The families' own keys of the config's `counters:` section, merged (names are unique across families). */
export const FAMILY_CONFIG = Object.assign(
  {},
  ...Object.values(FAMILY_SPECS).map((f) => f.config),
) as UnionToIntersection<Specs[FamilyName]['config']>;

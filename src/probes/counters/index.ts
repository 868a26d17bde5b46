/**
 * The counter registry: every always-on family, by name. A family is one runtime module (`<name>.ts`: how it starts
 * and reads) and one pure descriptor (`spec/<name>.ts`: signals, default deep probes, config keys, doc row, listed in
 * spec/index.ts). This object has exactly the descriptors' keys (the compiler checks it), each entry's name, bpf flag
 * and signals come from its descriptor.
 */
import type { CounterFactory } from './types.ts';
import type { FamilyName } from './spec/index.ts';
import { runq } from './runq.ts';
import { syscalls } from './syscalls.ts';
import { tcp } from './tcp.ts';
import { blockio } from './blockio.ts';
import { pg } from './pg.ts';
import { http } from './http.ts';
import { cpustat } from './cpustat.ts';
import { psi } from './psi.ts';

const entries = { runq, syscalls, tcp, blockio, pg, http, cpustat, psi } satisfies Record<FamilyName, CounterFactory>;

/** Families by name (names match `counters.enabled` in the config). */
export const COUNTERS: Readonly<Record<string, CounterFactory>> = entries;

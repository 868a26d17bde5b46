/**
 * The counter registry: every always-on family, by name. Adding a family is one module and one line here.
 * BPF families are listed first; file-based families (cpustat, psi: `bpf: false`, kept with --no-bpf) are added here too.
 */
import type { CounterFactory } from './types.ts';
import { runq } from './runq.ts';
import { syscalls } from './syscalls.ts';
import { tcp } from './tcp.ts';
import { blockio } from './blockio.ts';
import { pg } from './pg.ts';
import { cpustat } from './cpustat.ts';
import { psi } from './psi.ts';

/** Families by name (names match `counters.enabled` in the config). */
export const COUNTERS: Readonly<Record<string, CounterFactory>> = {
  runq,
  syscalls,
  tcp,
  blockio,
  pg,
  cpustat,
  psi,
};

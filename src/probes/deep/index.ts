/**
 * The deep probe catalog: name → probe. Adding a probe is one module, one line here, one test file and one section
 * of docs/probes.md. Each entry carries its budget, options schema, summary schema and doc row (`CatalogProbe`);
 * test/probes/deep/index.test.ts checks that each key equals its probe's `name` and that docs/probes.md matches.
 */
import { bpftrace } from './bpftrace.ts';
import { http } from './http.ts';
import { io } from './io.ts';
import { offcpu } from './offcpu.ts';
import { pg } from './pg.ts';
import { profile } from './profile.ts';
import { runqslower } from './runqslower.ts';
import { syscalls } from './syscalls.ts';
import { tcp } from './tcp.ts';
import type { CatalogProbe } from './types.ts';

/** Every deep probe, by name (each key is its module's file name and its object's stem under bpf/deep/). */
export const deepProbes = {
  offcpu,
  profile,
  runqslower,
  syscalls,
  io,
  tcp,
  pg,
  http,
  bpftrace,
} as const satisfies Readonly<Record<string, CatalogProbe>>;

/** Name of a probe in the catalog. */
export type DeepProbeName = keyof typeof deepProbes;

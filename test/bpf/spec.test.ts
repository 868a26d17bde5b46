/**
 * Spec tier: compiles every counter family's BPF object and checks, from the object's own BTF (no kernel load), that
 * each map's type, key and value sizes, each shared struct's layout and each knob match what the TypeScript decoders
 * assume. A header changed without its decoder (or the reverse) fails here, before any kernel test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { buildBpf, objDir } from '../support/kernel.ts';
import { HIST_LAYOUT, HIST_SIZE } from '../../src/probes/decode/hist.ts';
import { RUNQ } from '../../src/probes/decode/runq.ts';
import { SYSCALLS } from '../../src/probes/decode/syscalls.ts';
import { TCP } from '../../src/probes/decode/tcp.ts';
import { BLOCKIO } from '../../src/probes/decode/blockio.ts';
import { PGSTAT } from '../../src/probes/decode/pg.ts';

interface BtfType {
  id: number;
  kind: string;
  name?: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  vars?: { type_id: number; size: number; offset: number }[];
  members?: { name: string; type_id: number; bits_offset: number }[];
  linkage?: string;
}

const HASH = 1,
  ARRAY = 2,
  PERCPU_HASH = 5,
  PERCPU_ARRAY = 6,
  TASK_STORAGE = 29;

/** The object's BTF as bpftool prints it in JSON. */
function btfOf(stem: string): Map<number, BtfType> {
  const out = execFileSync(
    'bpftool',
    ['-j', 'btf', 'dump', 'file', join(objDir, 'counters', `${stem}.bpf.o`), 'format', 'raw'],
    { encoding: 'utf8' },
  );
  return new Map((JSON.parse(out).types as BtfType[]).map((t) => [t.id, t]));
}

function sizeOf(types: Map<number, BtfType>, id: number): number {
  const t = types.get(id)!;
  if (t.kind === 'TYPEDEF' || t.kind === 'CONST' || t.kind === 'VOLATILE') return sizeOf(types, t.type_id!);
  if (t.kind === 'ARRAY') return t.nr_elems! * sizeOf(types, t.type_id!);
  assert.ok(t.size !== undefined, `BTF type ${id} (${t.kind}) has no size`);
  return t.size!;
}

/** Maps of the `.maps` section: name → type, key size, value size (from the __uint/__type encodings). */
function mapsOf(types: Map<number, BtfType>): Map<string, { type: number; keySize: number; valueSize: number }> {
  const sec = [...types.values()].find((t) => t.kind === 'DATASEC' && t.name === '.maps')!;
  const out = new Map<string, { type: number; keySize: number; valueSize: number }>();
  for (const v of sec.vars!) {
    const variable = types.get(v.type_id)!;
    const def = types.get(variable.type_id!)!;
    const member = (n: string) => def.members!.find((m) => m.name === n);
    const pointee = (n: string) => types.get(member(n)!.type_id)!.type_id!; // PTR → target
    const type = types.get(pointee('type'))!.nr_elems!; // __uint(type, X) is int (*type)[X]
    out.set(variable.name!, {
      type,
      keySize: sizeOf(types, pointee('key')),
      valueSize: sizeOf(types, pointee('value')),
    });
  }
  return out;
}

function structOf(
  types: Map<number, BtfType>,
  name: string,
): { size: number; fields: Record<string, number> } | undefined {
  const s = [...types.values()].find((t) => t.kind === 'STRUCT' && t.name === name);
  if (!s) return undefined;
  return { size: s.size!, fields: Object.fromEntries(s.members!.map((m) => [m.name, m.bits_offset / 8])) };
}

/** Knobs: global `const volatile` variables of .rodata (static constants such as zero values are not knobs). */
function rodataOf(types: Map<number, BtfType>): Map<string, number> {
  const sec = [...types.values()].find((t) => t.kind === 'DATASEC' && t.name === '.rodata');
  const vars = (sec?.vars ?? []).filter((v) => types.get(v.type_id)!.linkage !== 'static');
  return new Map(vars.map((v) => [types.get(v.type_id)!.name!, v.size]));
}

const drops = (name: string) => ({ [name]: { type: PERCPU_ARRAY, keySize: 4, valueSize: 8 } });

const FAMILIES = {
  runq: {
    maps: {
      runq_delay: { type: PERCPU_HASH, keySize: RUNQ.keySize, valueSize: RUNQ.valueSize },
      runq_start: { type: TASK_STORAGE, keySize: 4, valueSize: 8 },
      runq_start_pid: { type: HASH, keySize: 4, valueSize: 8 },
      ...drops('runq_drops'),
    },
    layouts: RUNQ.layouts,
    knobs: { runq_threshold_ns: 8 },
  },
  syscalls: {
    maps: {
      syscall_latency: { type: PERCPU_ARRAY, keySize: SYSCALLS.keySize, valueSize: SYSCALLS.valueSize },
      cgroup_syscall_latency: { type: PERCPU_HASH, keySize: SYSCALLS.cgKeySize, valueSize: SYSCALLS.valueSize },
      syscall_watch_cg: { type: HASH, keySize: 8, valueSize: 1 },
      syscall_watch_pid: { type: HASH, keySize: 4, valueSize: 1 },
      syscall_watch_on: { type: ARRAY, keySize: 4, valueSize: 4 },
      syscall_start: { type: TASK_STORAGE, keySize: 4, valueSize: SYSCALLS.layouts.syscall_start.size },
      ...drops('syscalls_drops'),
    },
    layouts: SYSCALLS.layouts,
    knobs: {},
  },
  tcp: {
    maps: {
      tcp_connect_latency: { type: PERCPU_HASH, keySize: TCP.keySize, valueSize: TCP.latencyValueSize },
      tcp_retransmits: { type: PERCPU_HASH, keySize: TCP.keySize, valueSize: TCP.retransValueSize },
      tcp_socks: { type: HASH, keySize: 8, valueSize: TCP.layouts.tcp_sock_info.size },
      ...drops('tcp_drops'),
    },
    layouts: TCP.layouts,
    knobs: { tcp_sk_cgroup_v2: 1 },
  },
  blockio: {
    maps: {
      blockio_latency: { type: PERCPU_HASH, keySize: BLOCKIO.keySize, valueSize: BLOCKIO.valueSize },
      blockio_start: { type: HASH, keySize: 8, valueSize: BLOCKIO.layouts.blockio_start.size },
      ...drops('blockio_drops'),
    },
    layouts: BLOCKIO.layouts,
    knobs: {},
  },
  // USDT programs (no raw_tp twins); <bpf/usdt.bpf.h> adds libbpf's own __bpf_usdt_* maps and functions, not checked here.
  pg: {
    usdt: true,
    maps: {
      pg_query_latency: { type: PERCPU_HASH, keySize: PGSTAT.keySize, valueSize: PGSTAT.valueSize },
      pg_query_start: { type: TASK_STORAGE, keySize: 4, valueSize: PGSTAT.layouts.pgstat_start.size },
      ...drops('pg_drops'),
    },
    layouts: PGSTAT.layouts,
    knobs: {},
  },
} as const;

/** libbpf's USDT support code and maps, compiled into objects that include <bpf/usdt.bpf.h>. */
const isUsdtSupport = (name: string): boolean => name.startsWith('__bpf_usdt_') || name.startsWith('bpf_usdt_');

buildBpf();

for (const [stem, want] of Object.entries(FAMILIES)) {
  test(`${stem}.bpf.o: maps match the decoder's types and sizes`, () => {
    const maps = mapsOf(btfOf(stem));
    assert.deepEqual(
      [...maps.keys()].filter((n) => !('usdt' in want) || !isUsdtSupport(n)).sort(),
      Object.keys(want.maps).sort(),
      'map names',
    );
    for (const [name, m] of Object.entries(want.maps)) assert.deepEqual(maps.get(name), m, `map ${name}`);
  });

  test(`${stem}.bpf.o: shared structs match their TypeScript layouts`, () => {
    const types = btfOf(stem);
    assert.deepEqual(structOf(types, 'hist'), { size: HIST_SIZE, fields: HIST_LAYOUT.fields });
    for (const [name, layout] of Object.entries(
      want.layouts as Record<string, { size: number; fields: Record<string, number> }>,
    )) {
      const got = structOf(types, name);
      assert.ok(got, `struct ${name} in BTF`);
      assert.equal(got.size, layout.size, `sizeof(struct ${name})`);
      for (const [f, off] of Object.entries(layout.fields)) assert.equal(got.fields[f], off, `${name}.${f} offset`);
    }
  });

  test(`${stem}.bpf.o: knobs and program names (tl_ prefix, each tp_btf program has a _raw twin)`, () => {
    const types = btfOf(stem);
    assert.deepEqual(Object.fromEntries(rodataOf(types)), want.knobs);
    const usdt = 'usdt' in want;
    const funcs = [...types.values()]
      .filter((t) => t.kind === 'FUNC' && t.linkage === 'global' && !(usdt && isUsdtSupport(t.name!)))
      .map((t) => t.name!);
    assert.ok(funcs.length >= 2);
    for (const f of funcs) assert.match(f, /^tl_/);
    if (usdt) return; // USDT has no tracepoint twin
    for (const f of funcs.filter((n) => !n.endsWith('_raw')))
      assert.ok(funcs.includes(`${f}_raw`), `${f} has a raw_tp twin`);
  });
}

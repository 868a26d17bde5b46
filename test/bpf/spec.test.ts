/**
 * Spec tier: compiles every BPF object (features, counter families, deep probes) and checks, from the object itself
 * (BTF and ELF symbols, no kernel load), that each map's type, key and value sizes, each shared struct's layout and
 * each knob match what the TypeScript side assumes, and that program names follow the prefix scheme of bpf/README.md.
 * A header changed without its decoder (or the reverse) fails here, before any kernel test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBpf, objDir } from '../support/kernel.ts';
import { HIST_LAYOUT, HIST_SIZE } from '../../src/probes/decode/hist.ts';
import { RUNQ } from '../../src/probes/decode/runq.ts';
import { SYSCALLS } from '../../src/probes/decode/syscalls.ts';
import { TCP } from '../../src/probes/decode/tcp.ts';
import { BLOCKIO } from '../../src/probes/decode/blockio.ts';
import { PG } from '../../src/probes/decode/pg.ts';
import { HTTP } from '../../src/probes/decode/http.ts';
import { DEEP_TARGET_LAYOUT, DEEP_TARGET_SIZE } from '../../src/probes/deep/target-map.ts';
import { IO_LAYOUTS } from '../../src/probes/deep/io.ts';
import { OFFCPU_KEY_SIZE, OFFCPU_LAYOUTS, OFFCPU_SPELL_SIZE, OFFCPU_VAL_SIZE } from '../../src/probes/deep/offcpu.ts';
import { PG_LAYOUTS } from '../../src/probes/deep/pg.ts';
import { HTTPD_LAYOUTS } from '../../src/probes/deep/http.ts';
import { PROFILE_KEY_SIZE, PROFILE_LAYOUTS } from '../../src/probes/deep/profile.ts';
import { RUNQSLOWER_LAYOUTS } from '../../src/probes/deep/runqslower.ts';
import { SYSCALLS_LAYOUTS, SYSCALLS_TOTAL_SIZE } from '../../src/probes/deep/syscalls.ts';
import { TCPD_LAYOUTS } from '../../src/probes/deep/tcp.ts';

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

type Layouts = Readonly<Record<string, { readonly size: number; readonly fields?: Readonly<Record<string, number>> }>>;
interface MapSpec {
  type: number;
  keySize: number;
  valueSize: number;
}
interface ObjectSpec {
  /** USDT programs: no tracepoint twins; <bpf/usdt.bpf.h> adds libbpf's own maps and functions, not checked. */
  readonly usdt?: boolean;
  readonly maps: Readonly<Record<string, MapSpec>>;
  readonly layouts: Layouts;
  readonly knobs: Readonly<Record<string, number>>;
}

const HASH = 1,
  ARRAY = 2,
  PERCPU_HASH = 5,
  PERCPU_ARRAY = 6,
  STACK_TRACE = 7,
  RINGBUF = 27,
  TASK_STORAGE = 29;

/** Longest program name the kernel keeps whole (BPF_OBJ_NAME_LEN is 16 with the NUL). */
const KERNEL_NAME_MAX = 15;

/** Program name prefix of each tier (bpf/README.md). */
const TIER_PREFIX: Record<string, string> = { features: 'tlf_', counters: 'tlc_', deep: 'tld_' };
/** Part of the program prefix when it is not the stem itself (stems too long for a 15-character name). */
const PART: Record<string, string> = {
  'counters/blockio': 'bio',
  'counters/syscalls': 'sys',
  'deep/offcpu': 'off',
  'deep/profile': 'prof',
  'deep/runqslower': 'rqs',
  'deep/syscalls': 'sys',
};

const objPath = (rel: string): string => join(objDir, `${rel}.bpf.o`);

/** The object's BTF as bpftool prints it in JSON. */
function btfOf(rel: string): Map<number, BtfType> {
  const out = execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', objPath(rel), 'format', 'raw'], {
    encoding: 'utf8',
  });
  return new Map((JSON.parse(out).types as BtfType[]).map((t) => [t.id, t]));
}

function sizeOf(types: Map<number, BtfType>, id: number): number {
  const t = types.get(id)!;
  if (t.kind === 'TYPEDEF' || t.kind === 'CONST' || t.kind === 'VOLATILE') return sizeOf(types, t.type_id!);
  if (t.kind === 'ARRAY') return t.nr_elems! * sizeOf(types, t.type_id!);
  assert.ok(t.size !== undefined, `BTF type ${id} (${t.kind}) has no size`);
  return t.size!;
}

/**
 * Maps of the `.maps` section: name → type, key size, value size. `__type(key, T)` is a pointer to T,
 * `__uint(key_size, N)` a pointer to an int array of N elements; a ring buffer has neither (sizes 0).
 */
function mapsOf(types: Map<number, BtfType>): Map<string, MapSpec> {
  const sec = [...types.values()].find((t) => t.kind === 'DATASEC' && t.name === '.maps')!;
  const out = new Map<string, MapSpec>();
  for (const v of sec.vars!) {
    const variable = types.get(v.type_id)!;
    const def = types.get(variable.type_id!)!;
    const pointee = (n: string): number | undefined => {
      const m = def.members!.find((x) => x.name === n);
      return m ? types.get(m.type_id)!.type_id! : undefined; // PTR → target
    };
    const size = (typed: string, uint: string): number => {
      const t = pointee(typed);
      if (t !== undefined) return sizeOf(types, t);
      const u = pointee(uint);
      return u === undefined ? 0 : types.get(u)!.nr_elems!;
    };
    out.set(variable.name!, {
      type: types.get(pointee('type')!)!.nr_elems!, // __uint(type, X) is int (*type)[X]
      keySize: size('key', 'key_size'),
      valueSize: size('value', 'value_size'),
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

/**
 * Knobs: global `const volatile` variables of .rodata (static constants such as zero values are not knobs, nor the
 * TRIPLINE_EXPORT_TYPE anchors of tripline.h).
 */
function rodataOf(types: Map<number, BtfType>): Map<string, number> {
  const sec = [...types.values()].find((t) => t.kind === 'DATASEC' && t.name === '.rodata');
  const vars = (sec?.vars ?? []).filter((v) => {
    const t = types.get(v.type_id)!;
    return t.linkage !== 'static' && !t.name!.startsWith('__tl_type_');
  });
  return new Map(vars.map((v) => [types.get(v.type_id)!.name!, v.size]));
}

/** BPF programs of the object: global functions outside .text, with their ELF section (tp_btf/..., raw_tp/...). */
function programsOf(rel: string): { name: string; section: string }[] {
  const out = execFileSync('llvm-objdump', ['-t', objPath(rel)], { encoding: 'utf8' });
  const progs: { name: string; section: string }[] = [];
  for (const line of out.split('\n')) {
    const [left, right] = line.split('\t');
    if (!right || !/ g +F /.test(left!)) continue;
    const section = left!.trim().split(/\s+/).pop()!;
    if (section === '.text') continue;
    progs.push({ name: right.trim().split(/\s+/).pop()!, section });
  }
  return progs;
}

/** libbpf's USDT support code and maps, compiled into objects that include <bpf/usdt.bpf.h>. */
const isUsdtSupport = (name: string): boolean => name.startsWith('__bpf_usdt_') || name.startsWith('bpf_usdt_');

const drops = (name: string) => ({ [name]: { type: PERCPU_ARRAY, keySize: 4, valueSize: 8 } });
/** deep_target.h's maps, in every deep probe. */
const DEEP_MAPS = {
  deep_target: { type: ARRAY, keySize: 4, valueSize: DEEP_TARGET_SIZE },
  target_pids: { type: HASH, keySize: 4, valueSize: 1 },
  target_cgroups: { type: HASH, keySize: 8, valueSize: 1 },
  deep_stats: { type: ARRAY, keySize: 4, valueSize: 8 },
};
const ringbuf = { type: RINGBUF, keySize: 0, valueSize: 0 };
const stacks = { type: STACK_TRACE, keySize: 4, valueSize: 127 * 8 };

/**
 * Every object and what the TypeScript side assumes of it. Values of maps only the kernel side reads (a deep probe's
 * in-flight state) are pinned by size, so that growing them is a deliberate change.
 */
const OBJECTS: Record<string, ObjectSpec> = {
  'counters/runq': {
    maps: {
      runq_delay: { type: PERCPU_HASH, keySize: RUNQ.keySize, valueSize: RUNQ.valueSize },
      runq_start: { type: TASK_STORAGE, keySize: 4, valueSize: 8 },
      runq_start_pid: { type: HASH, keySize: 4, valueSize: 8 },
      runq_start_new: { type: ARRAY, keySize: 4, valueSize: 16 },
      ...drops('runq_drops'),
    },
    layouts: { hist: HIST_LAYOUT, ...RUNQ.layouts },
    knobs: { runq_threshold_ns: 8 },
  },
  'counters/syscalls': {
    maps: {
      syscall_latency: { type: PERCPU_ARRAY, keySize: SYSCALLS.keySize, valueSize: SYSCALLS.valueSize },
      cgroup_syscall_latency: { type: PERCPU_HASH, keySize: SYSCALLS.cgKeySize, valueSize: SYSCALLS.valueSize },
      cgroup_syscall_slow: { type: PERCPU_HASH, keySize: 8, valueSize: 8 },
      syscall_twin_mask: { type: ARRAY, keySize: 4, valueSize: 64 },
      syscall_watch_cg: { type: HASH, keySize: 8, valueSize: 1 },
      syscall_watch_pid: { type: HASH, keySize: 4, valueSize: 1 },
      syscall_watch_on: { type: ARRAY, keySize: 4, valueSize: 4 },
      syscall_start: { type: TASK_STORAGE, keySize: 4, valueSize: SYSCALLS.layouts.syscall_start.size },
      ...drops('syscalls_drops'),
    },
    layouts: { hist: HIST_LAYOUT, ...SYSCALLS.layouts },
    knobs: { syscall_slow_ns: 8 },
  },
  'counters/tcp': {
    maps: {
      tcp_connect_latency: { type: PERCPU_HASH, keySize: TCP.keySize, valueSize: TCP.latencyValueSize },
      tcp_retransmits: { type: PERCPU_HASH, keySize: TCP.keySize, valueSize: TCP.retransValueSize },
      tcp_socks: { type: HASH, keySize: 8, valueSize: TCP.layouts.tcp_sock_info.size },
      tcp_slots: { type: ARRAY, keySize: 4, valueSize: 24 },
      tcp_socks_used: { type: ARRAY, keySize: 4, valueSize: 8 },
      ...drops('tcp_drops'),
    },
    layouts: { hist: HIST_LAYOUT, ...TCP.layouts },
    knobs: { tcp_sk_cgroup_v2: 1, tcp_slot_mask: 4 },
  },
  'counters/blockio': {
    maps: {
      blockio_latency: { type: PERCPU_HASH, keySize: BLOCKIO.keySize, valueSize: BLOCKIO.valueSize },
      blockio_cgroup_bytes: { type: PERCPU_HASH, keySize: 8, valueSize: 8 },
      blockio_start: { type: HASH, keySize: 8, valueSize: 8 },
      ...drops('blockio_drops'),
    },
    layouts: { hist: HIST_LAYOUT, ...BLOCKIO.layouts },
    knobs: {},
  },
  'counters/pg': {
    usdt: true,
    maps: {
      pg_query_latency: { type: PERCPU_HASH, keySize: PG.keySize, valueSize: PG.valueSize },
      pg_query_start: { type: TASK_STORAGE, keySize: 4, valueSize: PG.layouts.pg_start.size },
      ...drops('pg_drops'),
    },
    layouts: { hist: HIST_LAYOUT, ...PG.layouts },
    knobs: {},
  },
  'counters/http': {
    maps: {
      http_latency: { type: PERCPU_HASH, keySize: HTTP.keySize, valueSize: HTTP.latencyValueSize },
      http2_frames: { type: PERCPU_HASH, keySize: HTTP.framesKeySize, valueSize: HTTP.framesValueSize },
      http_conns: { type: HASH, keySize: 8, valueSize: HTTP.layouts.http_conn.size },
      http_h2_streams: { type: HASH, keySize: 8, valueSize: HTTP.layouts.http_streams.size },
      http_ssl_args: { type: HASH, keySize: 8, valueSize: 32 },
      http_hpack_scratch: { type: PERCPU_ARRAY, keySize: 4, valueSize: 256 },
      ...drops('http_drops'),
    },
    layouts: { hist: HIST_LAYOUT, ...HTTP.layouts },
    knobs: { http_client: 1 },
  },
  'deep/http': {
    maps: {
      httpd_reqs: { type: HASH, keySize: 8, valueSize: HTTPD_LAYOUTS.httpd_req.size },
      httpd_threads: { type: HASH, keySize: 4, valueSize: HTTPD_LAYOUTS.httpd_thread.size },
      httpd_events: ringbuf,
      ...DEEP_MAPS,
    },
    layouts: HTTPD_LAYOUTS,
    knobs: { threshold_ns: 8 },
  },
  'deep/io': {
    maps: {
      io_start: { type: HASH, keySize: 8, valueSize: 32 },
      io_lat: { type: PERCPU_ARRAY, keySize: 4, valueSize: HIST_SIZE },
      io_events: ringbuf,
      ...DEEP_MAPS,
    },
    layouts: IO_LAYOUTS,
    knobs: { threshold_ns: 8 },
  },
  'deep/offcpu': {
    maps: {
      offcpu_start: { type: HASH, keySize: 4, valueSize: OFFCPU_SPELL_SIZE },
      offcpu_stacks: stacks,
      offcpu_ns: { type: HASH, keySize: OFFCPU_KEY_SIZE, valueSize: OFFCPU_VAL_SIZE },
      ...DEEP_MAPS,
    },
    layouts: OFFCPU_LAYOUTS,
    knobs: { min_ns: 8 },
  },
  'deep/pg': {
    usdt: true,
    maps: {
      pg_inflight: { type: HASH, keySize: 4, valueSize: 144 },
      pg_kinds: { type: PERCPU_ARRAY, keySize: 4, valueSize: HIST_SIZE },
      pg_events: ringbuf,
      pg_scratch: { type: PERCPU_ARRAY, keySize: 4, valueSize: 144 },
      ...DEEP_MAPS,
    },
    layouts: PG_LAYOUTS,
    knobs: { threshold_ns: 8 },
  },
  'deep/profile': {
    maps: {
      profile_stacks: stacks,
      profile_counts: { type: HASH, keySize: PROFILE_KEY_SIZE, valueSize: 8 },
      ...DEEP_MAPS,
    },
    layouts: PROFILE_LAYOUTS,
    knobs: {},
  },
  'deep/runqslower': {
    maps: {
      runq_enqueued: { type: TASK_STORAGE, keySize: 4, valueSize: 8 },
      runq_enq_pid: { type: HASH, keySize: 4, valueSize: 8 },
      runq_cpu_hist: { type: PERCPU_ARRAY, keySize: 4, valueSize: 8 + 8 * 40 },
      runq_events: ringbuf,
      ...DEEP_MAPS,
    },
    layouts: RUNQSLOWER_LAYOUTS,
    knobs: { threshold_ns: 8 },
  },
  'deep/syscalls': {
    maps: {
      sys_inflight: { type: HASH, keySize: 4, valueSize: 112 },
      sys_totals: { type: PERCPU_ARRAY, keySize: 4, valueSize: SYSCALLS_TOTAL_SIZE },
      sys_events: ringbuf,
      sys_scratch: { type: PERCPU_ARRAY, keySize: 4, valueSize: 112 },
      ...DEEP_MAPS,
    },
    layouts: SYSCALLS_LAYOUTS,
    knobs: { threshold_ns: 8, openat_nr: 4, futex_nr: 4 },
  },
  'deep/tcp': {
    maps: { tcpd_socks: { type: HASH, keySize: 8, valueSize: 72 }, tcpd_events: ringbuf, ...DEEP_MAPS },
    layouts: TCPD_LAYOUTS,
    knobs: {},
  },
};

buildBpf();

for (const [rel, want] of Object.entries(OBJECTS)) {
  const deep = rel.startsWith('deep/');
  test(`${rel}.bpf.o: maps match the TypeScript side's types and sizes`, () => {
    const maps = mapsOf(btfOf(rel));
    assert.deepEqual(
      [...maps.keys()].filter((n) => !want.usdt || !isUsdtSupport(n)).sort(),
      Object.keys(want.maps).sort(),
      'map names',
    );
    for (const [name, m] of Object.entries(want.maps)) assert.deepEqual(maps.get(name), m, `map ${name}`);
  });

  test(`${rel}.bpf.o: shared structs match their TypeScript layouts`, () => {
    const types = btfOf(rel);
    const layouts: Layouts = deep ? { ...DEEP_TARGET_LAYOUT, ...want.layouts } : want.layouts;
    for (const [name, layout] of Object.entries(layouts)) {
      const got = structOf(types, name);
      assert.ok(got, `struct ${name} in BTF`);
      assert.equal(got.size, layout.size, `sizeof(struct ${name})`);
      for (const [f, off] of Object.entries(layout.fields ?? {}))
        assert.equal(got.fields[f], off, `${name}.${f} offset`);
    }
    if ('hist' in layouts) assert.deepEqual(structOf(types, 'hist'), { size: HIST_SIZE, fields: HIST_LAYOUT.fields });
  });

  test(`${rel}.bpf.o: knobs`, () => {
    assert.deepEqual(Object.fromEntries(rodataOf(btfOf(rel))), want.knobs);
  });
}

const ALL = ['features', ...Object.keys(OBJECTS)];

test('program names: tier and part prefix, at most 15 characters, each tp_btf program with a `_raw` twin', () => {
  const kernelNames = new Map<string, string>(); // name as the kernel keeps it → program (without `_raw`) it shows
  for (const rel of ALL) {
    const [tier, stem] = rel.includes('/') ? rel.split('/') : ['features', ''];
    const prefix = TIER_PREFIX[tier!]! + (stem ? `${PART[rel] ?? stem}_` : '');
    const progs = programsOf(rel).filter((p) => !isUsdtSupport(p.name));
    assert.ok(progs.length >= 1, `${rel}: programs`);
    const names = new Set(progs.map((p) => p.name));
    for (const { name, section } of progs) {
      assert.match(name, new RegExp(`^${prefix}[a-z0-9_]+$`), `${rel}: ${name} starts with ${prefix}`);
      const base = name.replace(/_raw$/, '');
      assert.ok(base.length <= KERNEL_NAME_MAX, `${rel}: ${base} is over ${KERNEL_NAME_MAX} characters`);
      // Feature probes load alone, each for its own program type: no twins among them.
      if (tier !== 'features') {
        if (section.startsWith('tp_btf/')) assert.ok(names.has(`${name}_raw`), `${rel}: ${name} has a raw_tp twin`);
        if (name.endsWith('_raw')) {
          assert.ok(section.startsWith('raw_tp/'), `${rel}: ${name} is a raw_tp program`);
          assert.ok(
            progs.some((p) => p.name === base && p.section === `tp_btf/${section.slice('raw_tp/'.length)}`),
            `${rel}: ${name} twins a tp_btf program ${base} on the same tracepoint`,
          );
        }
      }
      // Programs of different objects (or hooks) never look alike in `bpftool prog`; a twin may look like its pair.
      const shown = name.slice(0, KERNEL_NAME_MAX);
      const other = kernelNames.get(shown);
      assert.ok(other === undefined || other === base, `${name} and ${other} both show as ${shown}`);
      kernelNames.set(shown, base);
    }
  }
});

test('bpf/README.md lists the program prefix of every object', () => {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'bpf', 'README.md'), 'utf8');
  for (const rel of Object.keys(OBJECTS)) {
    const [tier, stem] = rel.split('/');
    const prefix = TIER_PREFIX[tier!]! + `${PART[rel] ?? stem}_`;
    assert.ok(readme.includes(`\`${prefix}\``), `bpf/README.md names ${prefix} (${rel})`);
  }
});

test('every bpf/ file: one SPDX line, and each .bpf.c opens with its contract and ends with its GPL licence', () => {
  const root = join(import.meta.dirname, '..', '..', 'bpf');
  const files = ['', 'counters', 'deep'].flatMap((dir) =>
    readdirSync(join(root, dir))
      .filter((f) => f.endsWith('.h') || f.endsWith('.c'))
      .map((f) => join(dir, f)),
  );
  assert.ok(files.length >= 30, `${files.length} files`);
  for (const f of files) {
    const src = readFileSync(join(root, f), 'utf8');
    const spdx = f.endsWith('.c')
      ? '// SPDX-License-Identifier: GPL-2.0\n'
      : '/* SPDX-License-Identifier: GPL-2.0 */\n';
    assert.ok(src.startsWith(spdx), `${f} starts with ${spdx.trim()}`);
    if (!f.endsWith('.bpf.c')) continue;
    const contract = src.slice(spdx.length, src.indexOf('*/') + 2);
    for (const k of ['Hooks', 'Maps:', 'Knobs', 'Emits:', 'Cost class:'])
      assert.match(contract, new RegExp(`^ \\* ${k}`, 'm'), `${f}: the contract comment has ${k}`);
    // GPL-only helpers (probe reads, stack ids, task storage) load only into GPL-compatible programs.
    assert.ok(src.trimEnd().endsWith('char LICENSE[] SEC("license") = "GPL";'), `${f} ends with its LICENSE`);
  }
});

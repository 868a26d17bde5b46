/**
 * The probe runtime: the only module that knows libbpf. Lifecycle with named steps, each with its own error:
 * open → configure (rodata knobs, max entries, disabled programs, layout checks) → load → attach → read → close.
 * Nothing is pinned: every program, map and link is owned by a file descriptor of this process, so the kernel
 * releases all of it when the process exits, even by SIGKILL.
 */
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { TriplineError } from '../errors.ts';
import { ffi, koffi, lastErrno, type Ptr } from './libbpf-ffi.ts';
import { btfDatasecVars, btfStructLayout, type StructLayout } from './libbpf-btf.ts';

export type { StructLayout };

export interface OpenOptions {
  /** `const volatile` globals (in .rodata) set before load, by name; checked against the object's BTF. */
  readonly rodata?: Readonly<Record<string, number | bigint | boolean>>;
  /** Programs not to load (e.g. the raw_tp twin when tp_btf works). */
  readonly disable?: readonly string[];
  /** max_entries overrides before load. */
  readonly maxEntries?: Readonly<Record<string, number>>;
  /** Expected C struct layouts (size, field offsets): a mismatch with the object's BTF fails with PROBE_ERR_LAYOUT. */
  readonly layouts?: Readonly<
    Record<string, { readonly size: number; readonly fields?: Readonly<Record<string, number>> }>
  >;
}

export interface ProgramStats {
  readonly name: string;
  readonly runTimeNs: number;
  readonly runCount: number;
}

const BPF_MAP_TYPE_PERCPU_HASH = 5;
const BPF_MAP_TYPE_PERCPU_ARRAY = 6;
const BPF_MAP_TYPE_LRU_PERCPU_HASH = 10;
const BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE = 21;
const PERCPU_TYPES = new Set([
  BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE,
]);
const ENOENT = 2;
const EPERM = 1;
const EACCES = 13;

let possible: number | undefined;
/** Number of possible CPUs (the stride of per-CPU map values). */
export function possibleCpus(): number {
  if (possible === undefined) possible = ffi().libbpf_num_possible_cpus() as number;
  return possible;
}

/** Last libbpf log lines (verifier output on load failures), captured through libbpf_set_print. */
const logTail: string[] = [];
let printCb: unknown;
function captureLibbpfLog(): void {
  if (printCb || process.arch !== 'x64') return; // va_list is a pointer only on x86-64
  const f = ffi();
  const buf = Buffer.alloc(4096);
  printCb = koffi.register((level: number, fmt: bigint, args: bigint) => {
    const n = f.vsnprintf(buf, buf.length, fmt, args);
    const text = buf.subarray(0, Math.max(0, Math.min(n, buf.length - 1))).toString('utf8');
    for (const line of text.split('\n')) if (line.trim()) logTail.push(line);
    if (logTail.length > 200) logTail.splice(0, logTail.length - 200);
    if (level === 0 && process.env.TRIPLINE_LIBBPF_DEBUG) process.stderr.write(text);
    return 0;
  }, koffi.pointer(f.PrintFn));
  f.libbpf_set_print(printCb);
}

function errnoText(errno: number): string {
  return errno === EPERM || errno === EACCES ? `permission denied (errno ${errno})` : `errno ${errno}`;
}

function permissionHint(errno: number, otherwise: string): string {
  if (errno !== EPERM && errno !== EACCES) return otherwise;
  return process.geteuid?.() === 0
    ? 'running as root, so the kernel refuses this program type here (lockdown, or a program type this kernel forbids): see `tripline probes`'
    : 'run as root or grant CAP_BPF and CAP_PERFMON (and CAP_SYS_RESOURCE on older kernels)';
}

/** A BPF map of a loaded object: raw byte-level access; decoding belongs to the probe modules. */
export class BpfMap {
  readonly name: string;
  readonly fd: number;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly perCpu: boolean;
  /** Bytes of one lookup result: per-CPU maps hold one 8-byte-aligned value per possible CPU. */
  readonly valueBytes: number;
  #batch: boolean | undefined;

  constructor(ptr: Ptr) {
    const f = ffi();
    this.name = f.bpf_map__name(ptr);
    this.fd = f.bpf_map__fd(ptr);
    this.type = f.bpf_map__type(ptr);
    this.keySize = f.bpf_map__key_size(ptr);
    this.valueSize = f.bpf_map__value_size(ptr);
    this.maxEntries = f.bpf_map__max_entries(ptr);
    this.perCpu = PERCPU_TYPES.has(this.type);
    this.valueBytes = this.perCpu ? possibleCpus() * Math.ceil(this.valueSize / 8) * 8 : this.valueSize;
  }

  #checkKey(key: Buffer): void {
    if (key.length !== this.keySize)
      throw new TriplineError(
        'PROBE_ERR_MAP',
        `map ${this.name}: key of ${key.length} bytes, map has ${this.keySize}`,
        { hint: 'the TypeScript key layout does not match the BPF map' },
      );
  }

  lookup(key: Buffer): Buffer | undefined {
    this.#checkKey(key);
    const value = Buffer.alloc(this.valueBytes);
    const rc = ffi().bpf_map_lookup_elem(this.fd, key, value);
    if (rc === 0) return value;
    if (-rc === ENOENT || lastErrno() === ENOENT) return undefined;
    throw new TriplineError('PROBE_ERR_MAP', `map ${this.name}: lookup failed (${errnoText(-rc)})`);
  }

  update(key: Buffer, value: Buffer, flags = 0): void {
    this.#checkKey(key);
    if (value.length !== this.valueBytes)
      throw new TriplineError(
        'PROBE_ERR_MAP',
        `map ${this.name}: value of ${value.length} bytes, map needs ${this.valueBytes}`,
      );
    const rc = ffi().bpf_map_update_elem(this.fd, key, value, flags);
    if (rc !== 0)
      throw new TriplineError('PROBE_ERR_MAP', `map ${this.name}: update failed (${errnoText(-rc)})`, {
        hint: 'the map may be full: raise its max entries',
      });
  }

  delete(key: Buffer): boolean {
    this.#checkKey(key);
    return ffi().bpf_map_delete_elem(this.fd, key) === 0;
  }

  keys(): Buffer[] {
    const f = ffi();
    const out: Buffer[] = [];
    let prev: Buffer | null = null;
    for (let i = 0; i <= this.maxEntries; i++) {
      const next = Buffer.alloc(this.keySize);
      if (f.bpf_map_get_next_key(this.fd, prev, next) !== 0) break;
      out.push(next);
      prev = next;
    }
    return out;
  }

  /** Every entry: one batched syscall per chunk where the kernel supports it (hash maps, 5.6+), else key iteration. */
  entries(): { key: Buffer; value: Buffer }[] {
    if (this.#batch !== false) {
      const got = this.#batchEntries();
      if (got) return got;
    }
    const out: { key: Buffer; value: Buffer }[] = [];
    for (const key of this.keys()) {
      const value = this.lookup(key);
      if (value) out.push({ key, value });
    }
    return out;
  }

  #batchEntries(): { key: Buffer; value: Buffer }[] | undefined {
    const f = ffi();
    const chunk = Math.max(1, Math.min(this.maxEntries, 4096));
    const keys = Buffer.alloc(chunk * this.keySize);
    const values = Buffer.alloc(chunk * this.valueBytes);
    const tokenSize = Math.max(8, this.keySize);
    let inBatch: Buffer | null = null;
    const out: { key: Buffer; value: Buffer }[] = [];
    for (;;) {
      const outBatch = Buffer.alloc(tokenSize);
      const count = [chunk];
      const rc = f.bpf_map_lookup_batch(this.fd, inBatch, outBatch, keys, values, count, null);
      const errno = rc === 0 ? 0 : -rc;
      if (rc !== 0 && errno !== ENOENT) {
        if (out.length === 0) {
          this.#batch = false;
          return undefined;
        } // not supported for this map type
        throw new TriplineError('PROBE_ERR_MAP', `map ${this.name}: batch lookup failed (${errnoText(errno)})`);
      }
      this.#batch = true;
      for (let i = 0; i < count[0]; i++) {
        out.push({
          key: Buffer.from(keys.subarray(i * this.keySize, (i + 1) * this.keySize)),
          value: Buffer.from(values.subarray(i * this.valueBytes, (i + 1) * this.valueBytes)),
        });
      }
      if (errno === ENOENT) return out;
      inBatch = outBatch;
    }
  }
}

/** A ring buffer consumer; records are copied out before the callback returns. */
export class RingBuffer {
  #rb: Ptr;
  #cb: unknown;
  constructor(map: BpfMap, onRecord: (data: Buffer) => void) {
    const f = ffi();
    this.#cb = koffi.register((_ctx: bigint, data: bigint, size: number | bigint) => {
      onRecord(Buffer.from(koffi.view(data, Number(size)) as ArrayBuffer));
      return 0;
    }, koffi.pointer(f.SampleFn));
    this.#rb = f.ring_buffer__new(map.fd, this.#cb, null, null);
    if (!this.#rb) {
      koffi.unregister(this.#cb as never);
      throw new TriplineError(
        'PROBE_ERR_MAP',
        `ring buffer ${map.name}: cannot create consumer (${errnoText(lastErrno())})`,
      );
    }
  }
  /** Consumes every pending record without blocking; returns how many. */
  consume(): number {
    if (!this.#rb) return 0;
    const n = ffi().ring_buffer__consume(this.#rb);
    return n < 0 ? 0 : n;
  }
  close(): void {
    if (!this.#rb) return;
    ffi().ring_buffer__free(this.#rb);
    koffi.unregister(this.#cb as never);
    this.#rb = null;
  }
}

interface Program {
  readonly name: string;
  readonly ptr: Ptr;
  readonly section: string;
}

/** A loaded BPF object: its programs, maps and links. Close it (or `using` it) to detach and free everything. */
export class BpfObject implements Disposable {
  readonly path: string;
  #obj: Ptr;
  #programs = new Map<string, Program>();
  #maps = new Map<string, BpfMap>();
  #links: Ptr[] = [];
  #perfFds: number[] = [];
  #rings: RingBuffer[] = [];

  constructor(path: string, obj: Ptr) {
    this.path = path;
    this.#obj = obj;
    const f = ffi();
    for (let p = f.bpf_object__next_program(obj, null); p; p = f.bpf_object__next_program(obj, p)) {
      if (!f.bpf_program__autoload(p)) continue;
      this.#programs.set(f.bpf_program__name(p), {
        name: f.bpf_program__name(p),
        ptr: p,
        section: f.bpf_program__section_name(p),
      });
    }
    for (let m = f.bpf_object__next_map(obj, null); m; m = f.bpf_object__next_map(obj, m)) {
      const map = new BpfMap(m);
      this.#maps.set(map.name, map);
    }
  }

  /** Names of the programs that were loaded. */
  programNames(): string[] {
    return [...this.#programs.keys()];
  }

  #program(name: string): Program {
    const p = this.#programs.get(name);
    if (!p)
      throw new TriplineError('PROBE_ERR_ATTACH', `${this.path}: no loaded program named ${name}`, {
        hint: `loaded: ${this.programNames().join(', ')}`,
      });
    return p;
  }

  #link(link: Ptr, what: string): void {
    if (!link) {
      const errno = lastErrno();
      throw new TriplineError('PROBE_ERR_ATTACH', `${this.path}: cannot attach ${what} (${errnoText(errno)})`, {
        hint: permissionHint(errno, 'check `tripline probes`: the hook may not exist on this kernel'),
      });
    }
    this.#links.push(link);
  }

  /** Attaches a program by its section (tp/, tracepoint/, tp_btf/, raw_tp/, ...). */
  attach(program: string): void {
    const p = this.#program(program);
    if (/^(tp|tracepoint)\//.test(p.section)) ensureTracefs();
    this.#link(ffi().bpf_program__attach(p.ptr), `${p.name} (${p.section})`);
  }

  /** Attaches every loaded program whose section libbpf can attach on its own. */
  attachAll(): void {
    for (const p of this.#programs.values()) {
      if (/^(uprobe|uretprobe|usdt|perf_event)/.test(p.section)) continue;
      this.attach(p.name);
    }
  }

  /** Software cpu-clock perf events (one per CPU, or one for a pid), each running the program. */
  attachPerfEvent(
    program: string,
    opts: { frequency?: number; period?: number; pid?: number; cpus?: readonly number[] },
  ): void {
    const p = this.#program(program);
    const cpus = opts.pid !== undefined ? [-1] : (opts.cpus ?? onlineCpus());
    for (const cpu of cpus) {
      const fd = perfEventOpen({ frequency: opts.frequency, period: opts.period, pid: opts.pid ?? -1, cpu });
      if (fd < 0) continue; // an offline CPU; at least one must work (checked below)
      this.#perfFds.push(fd);
      this.#link(ffi().bpf_program__attach_perf_event(p.ptr, fd), `${p.name} (perf event on cpu ${cpu})`);
    }
    if (this.#perfFds.length === 0) {
      throw new TriplineError('PROBE_ERR_ATTACH', `${this.path}: perf_event_open(cpu-clock) failed on every CPU`, {
        hint: 'grant CAP_PERFMON, or lower kernel.perf_event_paranoid',
      });
    }
  }

  attachUprobe(
    program: string,
    opts: { binary: string; offset?: number; symbol?: string; pid?: number; retprobe?: boolean },
  ): void {
    const p = this.#program(program);
    const o = {
      sz: 40,
      ref_ctr_offset: 0,
      bpf_cookie: 0n,
      retprobe: opts.retprobe ?? false,
      func_name: opts.symbol ?? null,
    };
    this.#link(
      ffi().bpf_program__attach_uprobe_opts(p.ptr, opts.pid ?? -1, opts.binary, opts.offset ?? 0, o),
      `${p.name} (uprobe ${opts.binary}:${opts.symbol ?? opts.offset})`,
    );
  }

  attachUsdt(
    program: string,
    opts: { binary: string; provider: string; name: string; pid?: number; cookie?: bigint },
  ): void {
    const p = this.#program(program);
    const o = opts.cookie === undefined ? null : { sz: 16, usdt_cookie: opts.cookie };
    this.#link(
      ffi().bpf_program__attach_usdt(p.ptr, opts.pid ?? -1, opts.binary, opts.provider, opts.name, o),
      `${p.name} (usdt ${opts.provider}:${opts.name} in ${opts.binary})`,
    );
  }

  map(name: string): BpfMap {
    const m = this.#maps.get(name);
    if (!m)
      throw new TriplineError('PROBE_ERR_MAP', `${this.path}: no map named ${name}`, {
        hint: `maps: ${[...this.#maps.keys()].join(', ')}`,
      });
    return m;
  }

  ringBuffer(mapName: string, onRecord: (data: Buffer) => void): RingBuffer {
    const rb = new RingBuffer(this.map(mapName), onRecord);
    this.#rings.push(rb);
    return rb;
  }

  /** In-kernel run time and run count per program, from /proc/self/fdinfo (counted while stats are enabled). */
  programStats(): ProgramStats[] {
    const f = ffi();
    return [...this.#programs.values()].map((p) => {
      const info = fdinfo(f.bpf_program__fd(p.ptr));
      return { name: p.name, runTimeNs: info.run_time_ns ?? 0, runCount: info.run_cnt ?? 0 };
    });
  }

  /** Number of attached links. */
  get attached(): number {
    return this.#links.length;
  }

  /** Destroys every link (and perf event) and keeps the object loaded. */
  detach(): void {
    const f = ffi();
    for (const l of this.#links.splice(0)) f.bpf_link__destroy(l);
    for (const fd of this.#perfFds.splice(0)) f.close(fd);
  }

  /** Detaches and frees everything. Idempotent. */
  close(): void {
    for (const rb of this.#rings.splice(0)) rb.close();
    this.detach();
    if (this.#obj) {
      ffi().bpf_object__close(this.#obj);
      this.#obj = null;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Opens, configures and loads a CO-RE object. Each step fails with its own code and a hint. */
export function openObject(path: string, opts: OpenOptions = {}): BpfObject {
  const f = ffi();
  captureLibbpfLog();
  // Step 1: open.
  const obj = f.bpf_object__open_file(path, null);
  if (!obj) {
    const errno = lastErrno();
    throw new TriplineError('PROBE_ERR_OPEN', `cannot open BPF object ${path} (${errnoText(errno)})`, {
      hint:
        errno === ENOENT
          ? 'build it: scripts/build-bpf (needs clang, libbpf-dev, bpftool)'
          : 'rebuild it: scripts/build-bpf',
    });
  }
  try {
    // Step 2: configure.
    configure(path, obj, opts);
    // Step 3: load (verifier).
    logTail.length = 0;
    const rc = f.bpf_object__load(obj);
    if (rc !== 0) {
      const errno = -rc;
      const log = logTail.slice(-15).join('\n');
      throw new TriplineError(
        errno === EPERM || errno === EACCES ? 'PROBE_ERR_PERMISSION' : 'PROBE_ERR_LOAD',
        `cannot load ${path} (${errnoText(errno)})${log ? `:\n${log}` : ''}`,
        {
          hint: permissionHint(
            errno,
            'the kernel refused a program: see `tripline probes` for what this kernel supports',
          ),
        },
      );
    }
  } catch (err) {
    f.bpf_object__close(obj);
    throw err;
  }
  return new BpfObject(path, obj);
}

function configure(path: string, obj: Ptr, opts: OpenOptions): void {
  const f = ffi();
  const maps = new Map<string, Ptr>();
  for (let m = f.bpf_object__next_map(obj, null); m; m = f.bpf_object__next_map(obj, m))
    maps.set(f.bpf_map__name(m), m);
  const progs = new Map<string, Ptr>();
  for (let p = f.bpf_object__next_program(obj, null); p; p = f.bpf_object__next_program(obj, p))
    progs.set(f.bpf_program__name(p), p);
  const btf = f.bpf_object__btf(obj);

  for (const name of opts.disable ?? []) {
    const p = progs.get(name);
    if (!p)
      throw new TriplineError('PROBE_ERR_CONFIG', `${path}: cannot disable unknown program ${name}`, {
        hint: `programs: ${[...progs.keys()].join(', ')}`,
      });
    f.bpf_program__set_autoload(p, false);
  }
  for (const [name, n] of Object.entries(opts.maxEntries ?? {})) {
    const m = maps.get(name);
    if (!m || f.bpf_map__set_max_entries(m, n) !== 0)
      throw new TriplineError('PROBE_ERR_CONFIG', `${path}: cannot set max entries of map ${name} to ${n}`, {
        hint: `maps: ${[...maps.keys()].join(', ')}`,
      });
  }
  for (const [name, want] of Object.entries(opts.layouts ?? {})) {
    const got = btf ? btfStructLayout(btf, name) : undefined;
    if (!got)
      throw new TriplineError('PROBE_ERR_LAYOUT', `${path}: struct ${name} not found in the object's BTF`, {
        hint: 'rebuild with -g, and keep the struct used by a map or program',
      });
    const bad: string[] = [];
    if (got.size !== want.size) bad.push(`size ${got.size} (TypeScript expects ${want.size})`);
    for (const [field, off] of Object.entries(want.fields ?? {})) {
      const g = got.fields.get(field);
      if (g === undefined) bad.push(`no field ${field}`);
      else if (g !== off) bad.push(`${field} at offset ${g} (TypeScript expects ${off})`);
    }
    if (bad.length)
      throw new TriplineError(
        'PROBE_ERR_LAYOUT',
        `${path}: struct ${name} does not match its TypeScript decoder: ${bad.join('; ')}`,
        { hint: 'update the header and the decoder together, then rebuild' },
      );
  }
  const knobs = Object.entries(opts.rodata ?? {});
  if (knobs.length) {
    const rodata = maps.get('.rodata') ?? [...maps.entries()].find(([n]) => n.endsWith('.rodata'))?.[1];
    if (!rodata || !btf)
      throw new TriplineError('PROBE_ERR_CONFIG', `${path}: has no .rodata to configure`, {
        hint: 'declare knobs as `const volatile` globals',
      });
    const size = [0];
    const init = f.bpf_map__initial_value(rodata, size);
    const data = Buffer.from(koffi.view(init, size[0]) as ArrayBuffer);
    const vars = btfDatasecVars(btf, '.rodata');
    for (const [name, value] of knobs) {
      const v = vars.get(name);
      if (!v)
        throw new TriplineError('PROBE_ERR_CONFIG', `${path}: no knob named ${name}`, {
          hint: `knobs: ${[...vars.keys()].join(', ')}`,
        });
      writeKnob(data, v.offset, v.size, value, `${path}: knob ${name}`);
    }
    if (f.bpf_map__set_initial_value(rodata, data, data.length) !== 0)
      throw new TriplineError('PROBE_ERR_CONFIG', `${path}: cannot set .rodata`);
  }
}

function writeKnob(buf: Buffer, offset: number, size: number, value: number | bigint | boolean, what: string): void {
  const v = typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value);
  const max = size >= 8 ? 2n ** 64n : 2n ** BigInt(size * 8);
  if (v < -(max / 2n) || v >= max)
    throw new TriplineError('PROBE_ERR_CONFIG', `${what}: ${value} does not fit in ${size} bytes`);
  const u = v < 0n ? v + max : v;
  for (let i = 0; i < size; i++) buf[offset + i] = Number((u >> BigInt(8 * i)) & 0xffn);
}

let tracefsChecked = false;
/** Classic tracepoints are looked up in tracefs: mount it when missing (we hold the needed privileges anyway). */
export function ensureTracefs(): void {
  if (tracefsChecked) return;
  if (!existsSync('/sys/kernel/tracing/events') && !existsSync('/sys/kernel/debug/tracing/events')) {
    try {
      execFileSync('mount', ['-t', 'tracefs', 'tracefs', '/sys/kernel/tracing'], { stdio: 'ignore' });
    } catch (cause) {
      throw new TriplineError(
        'PROBE_ERR_ATTACH',
        'tracefs is not mounted and could not be mounted at /sys/kernel/tracing',
        {
          hint: 'mount it: mount -t tracefs tracefs /sys/kernel/tracing',
          cause,
        },
      );
    }
  }
  tracefsChecked = true;
}

function fdinfo(fd: number): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const line of readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n')) {
      const m = /^(\w+):\s+(\d+)$/.exec(line);
      if (m) out[m[1]] = Number(m[2]);
    }
  } catch {
    /* fd gone: no stats */
  }
  return out;
}

/** CPUs online now, from /sys/devices/system/cpu/online (e.g. "0-3,6"). */
export function onlineCpus(): number[] {
  const text = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
  const cpus: number[] = [];
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a; c <= (b ?? a); c++) cpus.push(c);
  }
  return cpus;
}

const SYS_PERF_EVENT_OPEN: Record<string, number> = { x64: 298, arm64: 241 };
const PERF_TYPE_SOFTWARE = 1;
const PERF_COUNT_SW_CPU_CLOCK = 0;
const PERF_FLAG_FD_CLOEXEC = 8;

/** perf_event_open for a software cpu-clock event; returns the fd or -1. */
export function perfEventOpen(opts: { frequency?: number; period?: number; pid: number; cpu: number }): number {
  const nr = SYS_PERF_EVENT_OPEN[process.arch];
  if (nr === undefined)
    throw new TriplineError('PROBE_ERR_UNSUPPORTED', `perf events: architecture ${process.arch} not supported`);
  // struct perf_event_attr (PERF_ATTR_SIZE_VER5 = 112 bytes is enough for what we set).
  const attr = Buffer.alloc(112);
  attr.writeUInt32LE(PERF_TYPE_SOFTWARE, 0);
  attr.writeUInt32LE(112, 4);
  attr.writeBigUInt64LE(BigInt(PERF_COUNT_SW_CPU_CLOCK), 8);
  const freq = opts.period === undefined;
  attr.writeBigUInt64LE(BigInt(freq ? (opts.frequency ?? 99) : opts.period!), 16);
  // flags bitfield at offset 40: bit 10 = freq.
  attr.writeBigUInt64LE(freq ? 1n << 10n : 0n, 40);
  const f = ffi();
  const fd = Number(
    f.syscall5(nr, 'void *', attr, 'int', opts.pid, 'int', opts.cpu, 'int', -1, 'unsigned long', PERF_FLAG_FD_CLOEXEC),
  );
  return fd;
}

/** Turns on in-kernel run-time statistics (BPF_STATS_RUN_TIME) while the returned handle is open. */
export function enableStats(): { close(): void } {
  const fd = ffi().bpf_enable_stats(0);
  if (fd < 0)
    throw new TriplineError('PROBE_ERR_PERMISSION', `cannot enable BPF run-time stats (${errnoText(-fd)})`, {
      hint: 'needs CAP_SYS_ADMIN, or set sysctl kernel.bpf_stats_enabled=1',
    });
  let open = true;
  return {
    close: () => {
      if (open) {
        ffi().close(fd);
        open = false;
      }
    },
  };
}

/** libbpf's version, e.g. "1.1". */
export function libbpfVersion(): string {
  const f = ffi();
  return `${f.libbpf_major_version()}.${f.libbpf_minor_version()}`;
}

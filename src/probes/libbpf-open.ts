/**
 * Opening a CO-RE object, in named steps each with its own error: open → configure (rodata knobs, max entries,
 * disabled programs, layout checks against the object's BTF) → load (verifier, its log kept for the error).
 */
import { TriplineError } from '../errors.ts';
import { ffi, koffi, lastErrno, type Ptr } from './libbpf-ffi.ts';
import { btfDatasecVars, btfStructLayout } from './libbpf-btf.ts';
import { EACCES, ENOENT, EPERM, errnoText, permissionHint } from './libbpf-errno.ts';
import { BpfObject } from './libbpf-object.ts';

/** What to configure between open and load; every name is checked against the object. */
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

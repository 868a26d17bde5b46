/**
 * Addresses → frame names for the stacks of a capture. Kernel frames through /proc/kallsyms; user frames through the
 * process's mappings and the ELF symbol tables of the mapped files (parsed once per binary and cached), and JIT
 * frames through /tmp/perf-PID.map. `track(pid)` snapshots a process's mappings when the capture starts, so frames of
 * processes that exit before the stacks are read still resolve. Every file a monitored process controls is read as
 * hostile (./hostile-file.ts): a refused file leaves its frames unresolved and adds a note saying why.
 */
import type { Stats } from 'node:fs';
import { kallsyms, type Kallsyms } from './kallsyms.ts';
import { findSymbol, offsetToVaddr, parseElf, type ElfInfo, type ElfSymbol } from './elf.ts';
import { isMissing, readInRoot, readRegularFile, type ReadResult } from './hostile-file.ts';
import { fileOffset, findMapping, readMaps, type Mapping } from './proc-maps.ts';
import { perfMapName, readPerfMap } from './perf-map.ts';

interface Tracked {
  readonly maps: readonly Mapping[];
  perfMap: readonly ElfSymbol[] | undefined | null; // null = not read yet
}

/** Resolves kernel and user addresses; one instance per capture (binaries are cached across instances). */
export class Symbolizer {
  #procs = new Map<number, Tracked>();
  // Pids whose maps could not be read (exited before anyone tracked them): not retried for every frame.
  #gone = new Set<number>();
  #kernel: Kallsyms | undefined;
  #notes = new Set<string>();

  /** Why some frames stay unresolved (files refused as hostile), at most MAX_NOTES distinct lines. */
  notes(): string[] {
    return [...this.#notes];
  }

  #note = (why: string): void => {
    if (this.#notes.size < MAX_NOTES) this.#notes.add(why);
  };

  /** Snapshots the mappings of `pid` now (cheap: one read of /proc/PID/maps); no-op when already tracked or gone. */
  track(pid: number): void {
    if (this.#procs.has(pid) || this.#gone.has(pid)) return;
    const maps = readMaps(pid);
    if (maps) this.#procs.set(pid, { maps, perfMap: null });
    else this.#gone.add(pid);
  }

  /** Pids tracked so far. */
  tracked(): number[] {
    return [...this.#procs.keys()];
  }

  /** Kernel frame name. */
  kernel(addr: bigint): string {
    this.#kernel ??= kallsyms();
    return this.#kernel.name(addr);
  }

  /** User frame name: `symbol` (or `[binary]+0xoffset` when the binary has no symbol there, `[unknown]` outside any mapping). */
  user(pid: number, addr: bigint): string {
    this.track(pid); // not seen at start: try now (it may still be alive)
    const proc = this.#procs.get(pid);
    if (!proc) return `0x${addr.toString(16)}`;
    const m = findMapping(proc.maps, addr);
    if (!m || !m.path || m.path.startsWith('[')) {
      // Anonymous executable memory is where JIT compilers put code.
      if (proc.perfMap === null) proc.perfMap = readPerfMap(pid, pid, this.#note);
      const jit = proc.perfMap ? perfMapName(proc.perfMap, addr) : undefined;
      if (jit) return jit;
      return m?.path ? m.path : '[unknown]';
    }
    const elf = binary(pid, m, this.#note);
    const off = fileOffset(m, addr);
    const base = m.path.slice(m.path.lastIndexOf('/') + 1);
    if (!elf) return `[${base}]+0x${off.toString(16)}`;
    const vaddr = offsetToVaddr(elf, off);
    const sym = vaddr === undefined ? undefined : findSymbol(elf.symbols, vaddr);
    return sym ? sym.name : `[${base}]+0x${off.toString(16)}`;
  }

  /**
   * One stack as frames root first, leaf last: the user frames (outermost first) then the kernel frames.
   * `kernel` and `user` are leaf-first as the kernel's stack maps return them; zero addresses end a stack.
   */
  stack(pid: number, kernel: readonly bigint[], user: readonly bigint[]): string[] {
    const frames: string[] = [];
    const u = user.filter((a) => a !== 0n);
    const k = kernel.filter((a) => a !== 0n);
    for (let i = u.length - 1; i >= 0; i--) frames.push(this.user(pid, u[i]));
    // The leaf-most kernel frames of a stack taken from a BPF program are the tracing machinery itself.
    let leaf = 0;
    while (leaf < k.length && BPF_FRAME.test(this.kernel(k[leaf]))) leaf++;
    for (let i = k.length - 1; i >= leaf; i--) frames.push(this.kernel(k[i]));
    return frames;
  }
}

// tp_btf/raw_tp: __traceiter_* → bpf_trace_run* → bpf_prog_*; classic tracepoints: perf_trace_* → trace_call_bpf.
const BPF_FRAME =
  /^(bpf_prog_|bpf_trace_run|__bpf_trace_|__traceiter_|trace_call_bpf|perf_trace_|bpf_overflow_handler|__perf_event_overflow|perf_swevent_hrtimer)/;

/** Most notes one symbolizer keeps (one per refused file). */
const MAX_NOTES = 20;
/** Largest binary read for its symbols; a larger one leaves its frames as `[binary]+0xoffset`. */
export const MAX_ELF_BYTES = 512 << 20;

// Per-binary cache, keyed by device, inode and mtime of the file read, so a replaced binary is parsed again.
const binaries = new Map<string, ElfInfo | undefined>();
const BINARY_CACHE_MAX = 256;

/**
 * The mapped file of `m`, parsed. Where from, in order: /proc/PID/map_files/START-END (the very inode mapped: a
 * kernel magic link, needs CAP_SYS_ADMIN); the path inside the process's root, walked without following links;
 * for a process gone, the host path, only when it is the same inode as the one mapped.
 */
function binary(pid: number, m: Mapping, note: (why: string) => void): ElfInfo | undefined {
  // A binary already parsed is not read again: the cache is checked between the file checks and the read.
  const keyOf = (st: Stats): string => `${st.dev}\0${st.ino}\0${st.mtimeMs}`;
  const skipIf = (st: Stats): boolean => binaries.has(keyOf(st));
  const attempts: (() => ReadResult)[] = [
    () =>
      readRegularFile(`/proc/${pid}/map_files/${m.start.toString(16)}-${m.end.toString(16)}`, {
        maxBytes: MAX_ELF_BYTES,
        followLast: true, // the kernel's own link to the mapped file (on overlayfs its inode differs from maps')
        skipIf,
      }),
    () => readInRoot(`/proc/${pid}/root`, m.path, MAX_ELF_BYTES, skipIf),
    () => readRegularFile(m.path, { maxBytes: MAX_ELF_BYTES, identity: { ino: m.inode, dev: m.dev }, skipIf }),
  ];
  for (const attempt of attempts) {
    let file: ReadResult;
    try {
      file = attempt();
    } catch (err) {
      if (
        isMissing(err) ||
        (err as NodeJS.ErrnoException).code === 'EPERM' ||
        (err as NodeJS.ErrnoException).code === 'EACCES'
      )
        continue;
      note(`${m.path} of pid ${pid} not read: ${(err as Error).message}`);
      return undefined;
    }
    const key = keyOf(file.stat);
    if (binaries.has(key)) return binaries.get(key);
    let elf: ElfInfo | undefined;
    try {
      elf = parseElf(file.data!, m.path);
    } catch {
      elf = undefined;
    }
    if (binaries.size >= BINARY_CACHE_MAX) binaries.delete(binaries.keys().next().value!);
    binaries.set(key, elf);
    return elf;
  }
  return undefined;
}

/**
 * JIT symbol maps, /tmp/perf-PID.map: "START SIZE name" per line, hex without 0x, written by runtimes that generate
 * code (node --perf-basic-prof, the JVM with an agent, LuaJIT). Later lines win for the same address (code is moved).
 */
import { findSymbol, type ElfSymbol } from './elf.ts';
import { existsSync } from 'node:fs';
import { isMissing, readInRoot, readRegularFile } from './hostile-file.ts';

/** Largest perf map read (a long-running JIT writes a few MB); a larger one is refused with a note. */
export const MAX_PERF_MAP_BYTES = 64 << 20;

/** Parses a perf map's text into symbols sorted by address. */
export function parsePerfMap(text: string): ElfSymbol[] {
  const byAddr = new Map<bigint, ElfSymbol>();
  for (const line of text.split('\n')) {
    const m = /^(?:0x)?([0-9a-fA-F]+) (?:0x)?([0-9a-fA-F]+) (.+)$/.exec(line);
    if (!m) continue;
    const addr = BigInt(`0x${m[1]}`);
    byAddr.set(addr, { addr, size: BigInt(`0x${m[2]}`), name: m[3] });
  }
  return [...byAddr.values()].sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
}

/**
 * The perf map of a process, read through its root (so containers work) as a hostile file: no links followed,
 * regular files only, capped. When the process is gone, the host's own /tmp/perf-PID.map is tried. Undefined when
 * there is none or it was refused; `note` is told why a map was refused.
 */
export function readPerfMap(pid: number, nsPid = pid, note?: (why: string) => void): ElfSymbol[] | undefined {
  const root = `/proc/${pid}/root`;
  const read = existsSync(root)
    ? () => readInRoot(root, `/tmp/perf-${nsPid}.map`, MAX_PERF_MAP_BYTES)
    : () => readRegularFile(`/tmp/perf-${pid}.map`, { maxBytes: MAX_PERF_MAP_BYTES });
  try {
    return parsePerfMap(read().data!.toString('utf8'));
  } catch (err) {
    if (!isMissing(err)) note?.(`perf map of pid ${pid} not read: ${(err as Error).message}`);
    return undefined;
  }
}

/** Name of a JIT frame, or undefined. */
export function perfMapName(symbols: readonly ElfSymbol[], addr: bigint): string | undefined {
  return findSymbol(symbols, addr)?.name;
}

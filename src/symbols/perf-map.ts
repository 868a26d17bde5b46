/**
 * JIT symbol maps, /tmp/perf-PID.map: "START SIZE name" per line, hex without 0x, written by runtimes that generate
 * code (node --perf-basic-prof, the JVM with an agent, LuaJIT). Later lines win for the same address (code is moved).
 */
import { readFileSync } from 'node:fs';
import { findSymbol, type ElfSymbol } from './elf.ts';

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

/** The perf map of a process (read through its root, so containers work), or undefined when there is none. */
export function readPerfMap(pid: number, nsPid = pid): ElfSymbol[] | undefined {
  for (const path of [`/proc/${pid}/root/tmp/perf-${nsPid}.map`, `/tmp/perf-${pid}.map`]) {
    try {
      return parsePerfMap(readFileSync(path, 'utf8'));
    } catch {
      /* try the next place */
    }
  }
  return undefined;
}

/** Name of a JIT frame, or undefined. */
export function perfMapName(symbols: readonly ElfSymbol[], addr: bigint): string | undefined {
  return findSymbol(symbols, addr)?.name;
}

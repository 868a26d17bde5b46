/** Kernel addresses → function names through /proc/kallsyms: parsed once, sorted, binary-searched. */
import { readFileSync } from 'node:fs';
import { findSymbol, type ElfSymbol } from './elf.ts';

/** Text symbols of the running kernel (and its modules), sorted by address. */
export interface Kallsyms {
  readonly symbols: readonly ElfSymbol[];
  /** Name of the function holding `addr`, or the address in hex. */
  name(addr: bigint): string;
}

/** Parses /proc/kallsyms text. Addresses of 0 (unprivileged readers see only zeros) are dropped. */
export function parseKallsyms(text: string): Kallsyms {
  const symbols: ElfSymbol[] = [];
  for (const line of text.split('\n')) {
    // "ffffffff81000000 T _text" or "ffffffffc0000000 t fn\t[module]"
    const sp1 = line.indexOf(' ');
    if (sp1 < 0) continue;
    const type = line[sp1 + 1];
    if (type !== 't' && type !== 'T' && type !== 'w' && type !== 'W') continue;
    const addr = BigInt(`0x${line.slice(0, sp1)}`);
    if (addr === 0n) continue;
    const rest = line.slice(sp1 + 3);
    const tab = rest.indexOf('\t');
    symbols.push({ addr, size: 0n, name: tab < 0 ? rest : rest.slice(0, tab) });
  }
  symbols.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
  return {
    symbols,
    name(addr: bigint): string {
      return findSymbol(symbols, addr)?.name ?? `0x${addr.toString(16)}`;
    },
  };
}

let cached: Kallsyms | undefined;
/** The running kernel's symbols, read on first use (about 0.1 s) and kept: kernel text does not move. */
export function kallsyms(): Kallsyms {
  cached ??= parseKallsyms(readFileSync('/proc/kallsyms', 'utf8'));
  return cached;
}

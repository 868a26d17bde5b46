/**
 * ELF64 reader, pure TypeScript over a Buffer: function symbols from .symtab and .dynsym, the PT_LOAD segments that
 * map file offsets to virtual addresses, and the GNU build id. Enough to name user-space stack frames.
 */
import { readFileSync } from 'node:fs';
import { TriplineError } from '../errors.ts';

/** One function symbol: [addr, addr + size) in the ELF's virtual address space. */
export interface ElfSymbol {
  readonly addr: bigint;
  readonly size: bigint;
  readonly name: string;
}

/** A loadable segment: file bytes [offset, offset + filesz) appear at vaddr. */
export interface ElfSegment {
  readonly offset: bigint;
  readonly vaddr: bigint;
  readonly filesz: bigint;
  readonly executable: boolean;
}

/** What the symbolizer needs from one binary. */
export interface ElfInfo {
  /** ET_EXEC (2) or ET_DYN (3: shared objects and PIE executables). */
  readonly type: number;
  readonly segments: readonly ElfSegment[];
  /** Function symbols sorted by address, duplicates (same address) collapsed to the first name. */
  readonly symbols: readonly ElfSymbol[];
  /** Hex GNU build id, '' when the binary has none. */
  readonly buildId: string;
}

const SHT_SYMTAB = 2;
const SHT_NOTE = 7;
const SHT_DYNSYM = 11;
const PT_LOAD = 1;
const PF_X = 1;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const NT_GNU_BUILD_ID = 3;

function bad(what: string, file: string): TriplineError {
  return new TriplineError('PROBE_ERR_OPEN', `${file}: not a readable ELF64 little-endian file (${what})`, {
    hint: 'only ELF64 little-endian binaries are symbolized; frames of this file stay as addresses',
  });
}

/** Parses an ELF64 little-endian image. `file` names it in errors. */
export function parseElf(buf: Buffer, file = '<buffer>'): ElfInfo {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw bad('no ELF magic', file);
  if (buf[4] !== 2 || buf[5] !== 1) throw bad('not 64-bit little-endian', file);
  const type = buf.readUInt16LE(16);
  const phoff = Number(buf.readBigUInt64LE(32));
  const shoff = Number(buf.readBigUInt64LE(40));
  const phentsize = buf.readUInt16LE(54);
  const phnum = buf.readUInt16LE(56);
  const shentsize = buf.readUInt16LE(58);
  const shnum = buf.readUInt16LE(60);
  if (phoff + phnum * phentsize > buf.length || shoff + shnum * shentsize > buf.length)
    throw bad('headers past the end', file);

  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (buf.readUInt32LE(o) !== PT_LOAD) continue;
    segments.push({
      executable: (buf.readUInt32LE(o + 4) & PF_X) !== 0,
      offset: buf.readBigUInt64LE(o + 8),
      vaddr: buf.readBigUInt64LE(o + 16),
      filesz: buf.readBigUInt64LE(o + 32),
    });
  }

  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    sections.push({
      type: buf.readUInt32LE(o + 4),
      offset: Number(buf.readBigUInt64LE(o + 24)),
      size: Number(buf.readBigUInt64LE(o + 32)),
      link: buf.readUInt32LE(o + 40),
      entsize: Number(buf.readBigUInt64LE(o + 56)),
    });
  }

  const byAddr = new Map<bigint, ElfSymbol>();
  let buildId = '';
  for (const s of sections) {
    if (s.offset + s.size > buf.length) continue; // SHT_NOBITS or truncated: nothing to read
    if (s.type === SHT_NOTE && !buildId) buildId = readBuildId(buf, s.offset, s.size);
    if ((s.type !== SHT_SYMTAB && s.type !== SHT_DYNSYM) || s.entsize < 24) continue;
    const strtab = sections[s.link];
    if (!strtab) continue;
    for (let o = s.offset; o + 24 <= s.offset + s.size; o += s.entsize) {
      const kind = buf[o + 4] & 0xf;
      const shndx = buf.readUInt16LE(o + 6);
      const addr = buf.readBigUInt64LE(o + 8);
      if ((kind !== STT_FUNC && kind !== STT_GNU_IFUNC) || shndx === 0 || addr === 0n) continue;
      const nameOff = strtab.offset + buf.readUInt32LE(o);
      const end = buf.indexOf(0, nameOff);
      if (end < 0) continue;
      // .symtab comes first in most binaries and holds the same names as .dynsym plus the local ones.
      if (!byAddr.has(addr))
        byAddr.set(addr, { addr, size: buf.readBigUInt64LE(o + 16), name: buf.toString('utf8', nameOff, end) });
    }
  }
  const symbols = [...byAddr.values()].sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
  return { type, segments, symbols, buildId };
}

function readBuildId(buf: Buffer, off: number, size: number): string {
  // Notes: namesz, descsz, type, name (padded to 4), desc (padded to 4).
  for (let o = off; o + 12 <= off + size;) {
    const namesz = buf.readUInt32LE(o);
    const descsz = buf.readUInt32LE(o + 4);
    const type = buf.readUInt32LE(o + 8);
    const name = o + 12;
    const desc = name + Math.ceil(namesz / 4) * 4;
    if (type === NT_GNU_BUILD_ID && buf.toString('latin1', name, name + namesz).startsWith('GNU')) {
      return buf.toString('hex', desc, desc + descsz);
    }
    o = desc + Math.ceil(descsz / 4) * 4;
  }
  return '';
}

/** Reads and parses an ELF file. */
export function readElf(path: string): ElfInfo {
  return parseElf(readFileSync(path), path);
}

/** Virtual address of a file offset (from a /proc/PID/maps mapping), or undefined when no segment holds it. */
export function offsetToVaddr(elf: ElfInfo, fileOffset: bigint): bigint | undefined {
  for (const s of elf.segments) {
    if (fileOffset >= s.offset && fileOffset < s.offset + s.filesz) return fileOffset - s.offset + s.vaddr;
  }
  return undefined;
}

/** The function holding `vaddr`: the last symbol at or below it, if the address lies within its size (or it has none). */
export function findSymbol(symbols: readonly ElfSymbol[], vaddr: bigint): ElfSymbol | undefined {
  let lo = 0;
  let hi = symbols.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (symbols[mid].addr <= vaddr) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (best < 0) return undefined;
  const s = symbols[best];
  return s.size === 0n || vaddr < s.addr + s.size ? s : undefined;
}

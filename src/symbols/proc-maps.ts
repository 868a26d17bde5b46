/** /proc/PID/maps: which file (and where in it) holds a user-space address. */
import { encodeDev, readProcFile } from './hostile-file.ts';

/** Largest maps file read (a process with ~200,000 mappings); a larger one is not symbolized. */
const MAX_MAPS_BYTES = 32 << 20;

/** One mapping of a process. */
export interface Mapping {
  readonly start: bigint;
  readonly end: bigint;
  readonly offset: bigint;
  readonly executable: boolean;
  readonly inode: number;
  /** Device of the mapped file (as stat's st_dev), when the line names one. */
  readonly dev?: number;
  /** File path, '' for anonymous memory, or a pseudo name such as [vdso], [heap], [stack]. */
  readonly path: string;
}

/** Parses the text of /proc/PID/maps. */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    // start-end perms offset dev inode   path
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({
      start: BigInt(`0x${m[1]}`),
      end: BigInt(`0x${m[2]}`),
      executable: m[3][2] === 'x',
      offset: BigInt(`0x${m[4]}`),
      dev: encodeDev(m[5]),
      inode: Number(m[6]),
      path: m[7].replace(/ \(deleted\)$/, ''),
    });
  }
  return out.sort((a, b) => (a.start < b.start ? -1 : 1));
}

/** Reads a live process's mappings; undefined when it has exited. */
export function readMaps(pid: number): Mapping[] | undefined {
  try {
    return parseMaps(readProcFile(`/proc/${pid}/maps`, MAX_MAPS_BYTES));
  } catch {
    return undefined;
  }
}

/** The mapping holding `addr` (binary search over sorted, non-overlapping mappings). */
export function findMapping(maps: readonly Mapping[], addr: bigint): Mapping | undefined {
  let lo = 0;
  let hi = maps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = maps[mid];
    if (addr < m.start) hi = mid - 1;
    else if (addr >= m.end) lo = mid + 1;
    else return m;
  }
  return undefined;
}

/** Offset in the mapped file of `addr` inside mapping `m`. */
export function fileOffset(m: Mapping, addr: bigint): bigint {
  return addr - m.start + m.offset;
}

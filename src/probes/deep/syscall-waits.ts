/**
 * What the syscalls probe's slow calls say about waiting, aggregated for the diagnosis:
 * - futex waits by address (the lock), with the waiting threads and the holder where the glibc mutex shows it
 *   (the owner tid read at entry by bpf/deep/syscalls.bpf.c, kept only when it is a thread of the same process);
 * - waits on files (fsync, fdatasync, sync_file_range, reads and writes) by process and fd, with the file's path
 *   read from /proc/PID/fd while the capture runs (shown only when paths are not redacted).
 * The /proc files belong to the monitored processes: reads are bounded, names cleaned, failures leave the field out.
 */
import { readFileSync, readlinkSync } from 'node:fs';

/** One slow call as the aggregation needs it. */
export interface WaitCall {
  readonly syscall: string;
  readonly tgid: number;
  readonly tid: number;
  readonly seconds: number;
  readonly args: readonly bigint[];
  readonly holder: number;
}

/** Futex waits on one address. */
export interface FutexWait {
  /** The futex word's address, hex. */
  readonly uaddr: string;
  readonly pid: number;
  readonly waits: number;
  readonly seconds: number;
  /** Distinct waiting threads. */
  readonly threads: number;
  /** The mutex holder at the longest wait's start, when it is a thread of the same process. */
  readonly holder?: { readonly tid: number; readonly comm: string };
}

/** Waits on one file descriptor of one process. */
export interface FileWait {
  readonly syscall: string;
  readonly pid: number;
  readonly fd: number;
  readonly calls: number;
  readonly seconds: number;
  /** The file, from /proc/PID/fd/FD ('<redacted>' when paths are redacted; absent when it could not be read). */
  readonly path?: string;
}

/** Calls on a file whose slowness is the storage's: the flushes, and reads/writes on regular files. */
const FILE_CALLS = new Set(['fsync', 'fdatasync', 'sync_file_range', 'write', 'pwrite64', 'writev', 'read', 'pread64']);
const MAX_ROWS = 10;

const comm = (s: string): string => s.replace(/[^\x20-\x7e]/g, '?').slice(0, 16);

/** `/proc/PID/task/TID/comm` when TID is a thread of PID, else undefined. */
export function threadOf(pid: number, tid: number): { tid: number; comm: string } | undefined {
  if (!Number.isInteger(tid) || tid <= 0 || tid > 0x3fffffff) return undefined;
  try {
    return { tid, comm: comm(readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim()) };
  } catch {
    return undefined;
  }
}

/** The target of `/proc/PID/fd/FD`, bounded and cleaned; undefined when unreadable. */
export function fdPath(pid: number, fd: number): string | undefined {
  if (!Number.isInteger(fd) || fd < 0 || fd > 1 << 24) return undefined;
  try {
    return readlinkSync(`/proc/${pid}/fd/${fd}`)
      .replace(/[^\x20-\x7e]/g, '?')
      .slice(0, 256);
  } catch {
    return undefined;
  }
}

/** Futex waits grouped by (process, address), most waiting first. `holderOf` checks the recorded owner tid. */
export function futexWaits(
  calls: readonly WaitCall[],
  holderOf: (pid: number, tid: number) => { tid: number; comm: string } | undefined = threadOf,
): FutexWait[] {
  const by = new Map<
    string,
    { pid: number; uaddr: bigint; waits: number; seconds: number; tids: Set<number>; longest: WaitCall }
  >();
  for (const c of calls) {
    if (c.syscall !== 'futex') continue;
    const uaddr = c.args[0] ?? 0n;
    const k = `${c.tgid}:${uaddr}`;
    let g = by.get(k);
    if (!g) by.set(k, (g = { pid: c.tgid, uaddr, waits: 0, seconds: 0, tids: new Set(), longest: c }));
    g.waits++;
    g.seconds += c.seconds;
    g.tids.add(c.tid);
    if (c.seconds > g.longest.seconds) g.longest = c;
  }
  return [...by.values()]
    .sort((a, b) => b.seconds - a.seconds)
    .slice(0, MAX_ROWS)
    .map((g) => {
      // The holder must be another thread of the process: a word that is not a mutex owner rarely names one.
      const h = g.longest.holder && g.longest.holder !== g.longest.tid ? holderOf(g.pid, g.longest.holder) : undefined;
      return {
        uaddr: `0x${g.uaddr.toString(16)}`,
        pid: g.pid,
        waits: g.waits,
        seconds: g.seconds,
        threads: g.tids.size,
        ...(h ? { holder: h } : {}),
      };
    });
}

/** Slow calls on files grouped by (syscall, process, fd), most time first, with their paths (see the module). */
export function fileWaits(
  calls: readonly WaitCall[],
  redact: boolean,
  pathOf: (pid: number, fd: number) => string | undefined = fdPath,
): FileWait[] {
  const by = new Map<string, { syscall: string; pid: number; fd: number; calls: number; seconds: number }>();
  for (const c of calls) {
    if (!FILE_CALLS.has(c.syscall)) continue;
    const fd = Number(BigInt.asIntN(32, c.args[0] ?? 0n));
    const k = `${c.syscall}:${c.tgid}:${fd}`;
    let g = by.get(k);
    if (!g) by.set(k, (g = { syscall: c.syscall, pid: c.tgid, fd, calls: 0, seconds: 0 }));
    g.calls++;
    g.seconds += c.seconds;
  }
  return [...by.values()]
    .sort((a, b) => b.seconds - a.seconds)
    .slice(0, MAX_ROWS)
    .flatMap((g) => {
      const path = pathOf(g.pid, g.fd);
      // Sockets, pipes and terminals wait for peers, not storage.
      if (path !== undefined && !path.startsWith('/')) return [];
      return [{ ...g, ...(path === undefined ? {} : { path: redact ? '<redacted>' : path }) }];
    });
}

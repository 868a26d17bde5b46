/**
 * Reading files that a monitored process controls (its perf map, the binaries it maps, its /proc files) without
 * letting it hang, exhaust or mislead the engine. Every open is O_NONBLOCK (a FIFO cannot block the event loop)
 * and, for paths, O_NOFOLLOW; the opened file must be a regular file (fstat: not a FIFO, socket or device such as
 * /dev/zero) no larger than the caller's cap (a 10 GB sparse file is refused before any read), and is read
 * at most to that cap. Paths inside a process's root are walked component by component, refusing symbolic links:
 * through /proc/PID/root an absolute link would resolve against the *host's* root, so a link planted by the
 * process could make tripline read a host file. Every refusal says why, for the capture's notes.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';

/** Why a file of a monitored process was not read. */
export class HostileFileError extends Error {
  override readonly name = 'HostileFileError';
  /** The errno code when the open or stat failed (ENOENT: there is no such file, nothing hostile). */
  readonly code?: string;
  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
}

/** True when `err` says the file simply does not exist (or the process is gone). */
export function isMissing(err: unknown): boolean {
  return err instanceof HostileFileError && (err.code === 'ENOENT' || err.code === 'ESRCH');
}

// Node opens every file with O_CLOEXEC already.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** What a file must be to be read. */
export interface ReadLimits {
  /** Refuse files larger than this (bytes). */
  readonly maxBytes: number;
  /** Follow the last component (only for kernel magic links such as /proc/PID/map_files/…). @defaultValue false */
  readonly followLast?: boolean;
  /** The file must be this inode (and device, when given), e.g. the inode /proc/PID/maps names. */
  readonly identity?: { readonly ino: number; readonly dev?: number };
  /** Checked once the file passed the checks, before reading: true skips the read (e.g. already parsed). */
  readonly skipIf?: (stat: Stats) => boolean;
}

/** A regular file's contents and its identity (`data` is undefined when `skipIf` said so). */
export interface ReadResult {
  readonly data?: Buffer;
  readonly stat: Stats;
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** Reads `path` as a monitored process's file: a regular file, within `maxBytes`, identity checked; throws HostileFileError with the reason. */
export function readRegularFile(path: string, limits: ReadLimits): ReadResult {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS | (limits.followLast ? 0 : constants.O_NOFOLLOW));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new HostileFileError(`${path} is a symbolic link (not followed)`);
    throw new HostileFileError(`${path}: ${code ?? (err as Error).message}`, code);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new HostileFileError(`${path} is ${kindOf(stat)}, not a regular file`);
    const id = limits.identity;
    if (id && (stat.ino !== id.ino || (id.dev !== undefined && stat.dev !== id.dev)))
      throw new HostileFileError(`${path} is not the file the process mapped (inode ${stat.ino}, expected ${id.ino})`);
    if (stat.size > limits.maxBytes)
      throw new HostileFileError(`${path} is ${stat.size} bytes, over the ${limits.maxBytes}-byte cap`);
    if (limits.skipIf?.(stat)) return { stat };
    const data = Buffer.allocUnsafe(stat.size);
    let off = 0;
    while (off < data.length) {
      const n = readSync(fd, data, off, data.length - off, off);
      if (n === 0) break; // truncated while reading: keep what is there
      off += n;
    }
    return { data: data.subarray(0, off), stat };
  } finally {
    closeSync(fd);
  }
}

/** Reads a kernel-generated /proc file (size 0 in fstat) up to `maxBytes`; throws HostileFileError when it cannot. */
export function readProcFile(path: string, maxBytes: number): string {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new HostileFileError(`${path}: ${code ?? (err as Error).message}`, code);
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(64 << 10, maxBytes - total + 1));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > maxBytes) throw new HostileFileError(`${path} is over the ${maxBytes}-byte cap`);
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * `path` (absolute, as the process sees it) under `root` (e.g. /proc/PID/root), after checking that no component
 * is a symbolic link or `..`; returns the host path to open (with O_NOFOLLOW) and the last component's identity.
 */
export function pathInRoot(root: string, path: string): { hostPath: string; ino: number; dev: number } {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..')) throw new HostileFileError(`${path}: not a plain absolute path`);
  let cur = root;
  let st: Stats | undefined;
  for (let i = 0; i < parts.length; i++) {
    cur += `/${parts[i]}`;
    try {
      st = lstatSync(cur);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new HostileFileError(`${path}: ${code ?? (err as Error).message}`, code);
    }
    if (st.isSymbolicLink())
      throw new HostileFileError(
        `${path}: /${parts.slice(0, i + 1).join('/')} is a symbolic link (not followed out of the process's root)`,
      );
  }
  return { hostPath: cur, ino: st!.ino, dev: st!.dev };
}

/** Reads `path` as seen by the process whose root is `root`, refusing links on the way; see readRegularFile. */
export function readInRoot(
  root: string,
  path: string,
  maxBytes: number,
  skipIf?: (stat: Stats) => boolean,
): ReadResult {
  const at = pathInRoot(root, path);
  // The identity check catches a component swapped for a link between the walk and the open.
  return readRegularFile(at.hostPath, { maxBytes, identity: { ino: at.ino, dev: at.dev }, skipIf });
}

/** Linux's encoding of a device number (as in stat's st_dev) from "major:minor" in hex (as in /proc/PID/maps). */
export function encodeDev(majorMinorHex: string): number | undefined {
  const m = /^([0-9a-f]+):([0-9a-f]+)$/i.exec(majorMinorHex);
  if (!m) return undefined;
  const major = parseInt(m[1], 16);
  const minor = parseInt(m[2], 16);
  return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
}

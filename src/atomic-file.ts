/**
 * Durable file writes, one implementation for every file tripline keeps across a crash (rule state, the action
 * store, bundles): a file is written in full and fsynced before any name points at it, and a rename is fsynced
 * through its folder, so a crash leaves the old content or the new, never half of either.
 *
 * Errors are the plain fs errors (the temporary file removed first): each caller wraps them in its own coded
 * TriplineError, which knows what the file is and what to tell the user.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Mode of every file tripline writes unless told otherwise: it holds incident data, Slack threads or state. */
export const PRIVATE_FILE_MODE = 0o600;
/** Mode of the folders `writeFileAtomic` creates. */
export const PRIVATE_DIR_MODE = 0o700;

/**
 * Creates `path` (it must not exist: `wx`, which also refuses a planted symlink), writes `data`, fsyncs it, and sets
 * exactly `mode` (the umask may have removed bits; never more than asked). The name itself is durable only once
 * its folder is synced (`syncDir`).
 */
export async function writeFileDurable(
  path: string,
  data: string | Uint8Array,
  mode: number = PRIVATE_FILE_MODE,
): Promise<void> {
  const fh = await open(path, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.chmod(mode);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Fsyncs a folder, so that the names created or renamed in it survive a crash. */
export async function syncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Options of `writeFileAtomic`. */
export interface AtomicWriteOptions {
  /**
   * Mode of the file. The new file never inherits the old one's mode: what tripline writes is private.
   * @defaultValue 0o600
   */
  readonly mode?: number;
  /**
   * The temporary file (same folder as `path`, or the rename is not atomic). Give one when a sweeper must
   * recognise leftovers of a crash by name.
   * @defaultValue `.<name>.<pid>.<random>.tmp` beside `path`
   */
  readonly tmpPath?: string;
}

/**
 * Replaces `path` with `data` atomically and durably: temporary file in the same folder (created 0700 when
 * missing), fsync, rename over `path`, fsync of the folder. Readers see the old file or the new one.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const dir = dirname(path);
  const tmp = opts.tmpPath ?? join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    await writeFileDurable(tmp, data, opts.mode ?? PRIVATE_FILE_MODE);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(dir);
}

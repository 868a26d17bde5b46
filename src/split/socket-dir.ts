/**
 * The probe side's channel socket on a path the network side reaches (a hostPath shared with the network pod).
 * The socket's directory is made, or checked to be, the probe side's own (not a symlink, mode 2750, group the
 * network side's), so the network side can connect but never plant or swap an entry there; the socket is created
 * with its final mode through the umask and its group set with lchown: no call follows a link a
 * compromised network side could have put in place (a chown/chmod of the path after listen would).
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  unlinkSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname } from 'node:path';
import { TriplineError } from '../errors.ts';

/** Mode of the socket's directory: the probe side's, searchable by the network side's group, setgid. */
export const SOCKET_DIR_MODE = 0o2750;
/** Mode of the socket: the probe side and the network side's group connect. */
export const SOCKET_MODE = 0o660;

function unsafe(path: string, why: string): TriplineError {
  return new TriplineError('CHANNEL_ERR_UNSAFE', `channel socket directory ${path}: ${why}`, {
    hint: `let the probe side create ${path} (remove it), or make it a directory owned by the probe side's user (root), not writable by others (chmod 0750)`,
  });
}

/**
 * Makes the socket's directory the probe side's (creating it if absent): refuses a symlink, a directory of
 * another owner or one others may write to (CHANNEL_ERR_UNSAFE); then sets group `gid` and SOCKET_DIR_MODE on
 * the opened directory (fchown/fchmod: the checked inode, not a path).
 */
export function secureSocketDir(dir: string, gid: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (err) {
    throw unsafe(dir, `not a directory or a symlink (${(err as NodeJS.ErrnoException).code})`);
  }
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.() ?? 0;
    if (st.uid !== uid) throw unsafe(dir, `owned by uid ${st.uid}, not the probe side's (${uid})`);
    if (st.mode & 0o022) throw unsafe(dir, `writable by group or others (mode ${(st.mode & 0o7777).toString(8)})`);
    fchownSync(fd, uid, gid);
    fchmodSync(fd, SOCKET_DIR_MODE);
  } finally {
    closeSync(fd);
  }
}

/**
 * Listens on the Unix socket `path` for the network side (group `gid`): secures its directory, removes a stale
 * entry (unlink: a symlink goes, its target stays), creates the socket 0660 through the umask, lchowns it to
 * `gid` and checks the result is that socket.
 */
export async function listenSafely(path: string, gid: number): Promise<Server> {
  secureSocketDir(dirname(path), gid);
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const old = process.umask(0o777 & ~SOCKET_MODE);
    try {
      server.listen(path, () => resolve()); // bind(2) runs inside listen(), under this umask
    } finally {
      process.umask(old);
    }
  });
  lchownSync(path, process.getuid?.() ?? 0, gid);
  const st = lstatSync(path);
  if (!st.isSocket() || (st.mode & 0o777) !== SOCKET_MODE || st.gid !== gid) {
    server.close();
    throw unsafe(path, `the socket is not as created (mode ${(st.mode & 0o7777).toString(8)}, gid ${st.gid})`);
  }
  return server;
}

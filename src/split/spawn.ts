/**
 * How the probe side starts the network side on a host: `setpriv` switches to the unprivileged user, clears the
 * supplementary groups, empties the bounding, inheritable and ambient capability sets and sets no_new_privs, then
 * runs `tripline network --channel-fd 3`, fd 3 being one end of a Unix socket pair whose other end the probe side
 * keeps. The network side gets the environment (it is the side that uses the Slack token, REDIS_URL, webhook
 * secrets); the probe side passes none of it to the programs it runs itself.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { extname, join } from 'node:path';
import { TriplineError } from '../errors.ts';
import { INSTALL_DIR } from '../paths.ts';

/** A user's ids from /etc/passwd. */
export interface UserIds {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** Looks `name` up in /etc/passwd (Node has no getpwnam); undefined when there is no such user. */
export function lookupUser(name: string, passwd = '/etc/passwd'): UserIds | undefined {
  for (const line of readFileSync(passwd, 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) return { name, uid: Number(f[2]), gid: Number(f[3]) };
  }
  return undefined;
}

/** Where `setpriv` lives (util-linux). */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'];

/** The started network side: its process and the probe side's end of the channel. */
export interface SpawnedNetworkSide {
  readonly child: ChildProcess;
  readonly socket: Socket;
  readonly user: UserIds;
}

/** The network side's user: it must exist and not be root; throws ENGINE_ERR_PRIVILEGE with the fix. */
export function networkUser(userName: string): UserIds {
  const user = lookupUser(userName);
  if (!user)
    throw new TriplineError('ENGINE_ERR_PRIVILEGE', `network side user ${JSON.stringify(userName)} does not exist`, {
      hint: `run scripts/setup.sh (it creates the user), or: useradd --system --no-create-home --shell /usr/sbin/nologin ${userName}; or set network.user`,
    });
  if (user.uid === 0)
    throw new TriplineError('ENGINE_ERR_PRIVILEGE', `network.user ${userName} is root: the network side must not be`, {
      hint: 'set network.user to an unprivileged user (default tripline)',
    });
  return user;
}

/** Starts the network side as `userName`; throws ENGINE_ERR_PRIVILEGE naming what is missing. */
export function spawnNetworkSide(userName: string, env: NodeJS.ProcessEnv = process.env): SpawnedNetworkSide {
  const user = networkUser(userName);
  const setpriv = SETPRIV.find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!setpriv)
    throw new TriplineError(
      'ENGINE_ERR_PRIVILEGE',
      'setpriv not found: cannot start the network side without privileges',
      {
        hint: 'install util-linux (apt-get install -y util-linux)',
      },
    );
  // The same entry this process runs from: dist/cli/main.js when compiled, src/cli/main.ts from source.
  const main = join(import.meta.dirname, '..', 'cli', `main${extname(import.meta.filename)}`);
  const canRead = spawnSync(
    setpriv,
    [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', 'test', '-r', main],
    { stdio: 'ignore', timeout: 10_000 },
  );
  if (canRead.status !== 0)
    throw new TriplineError('ENGINE_ERR_PRIVILEGE', `user ${userName} cannot read ${main}`, {
      hint: `install tripline where others can read it (/opt/tripline), or chmod o+rx the folders above ${INSTALL_DIR}`,
    });
  const args = [
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    '--clear-groups',
    '--bounding-set=-all',
    '--inh-caps=-all',
    '--ambient-caps=-all',
    '--no-new-privs',
    '--',
    process.execPath,
    ...process.execArgv,
    main,
    'network',
    '--channel-fd',
    '3',
  ];
  const child = spawn(setpriv, args, {
    cwd: '/',
    env: { ...env, HOME: '/nonexistent' },
    stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
  });
  const socket = child.stdio[3] as Socket;
  return { child, socket, user };
}

// The probe side's channel socket on a directory the network side can reach (M1 of the Kubernetes review): a
// symlink planted where the socket goes is replaced, its target untouched; an unsafe directory is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenSafely, SOCKET_DIR_MODE, SOCKET_MODE } from '../../src/split/socket-dir.ts';
import { TriplineError } from '../../src/errors.ts';
import { lookupUser } from '../../src/split/spawn.ts';
import { skipOrFail } from '../support/kernel.ts';

const GID = 4242; // the network side's group, as root may give any gid

function scratch(t: { after: (f: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-sockdir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a symlink planted where the socket goes is unlinked; its target keeps its owner and mode', async (t) => {
  const dir = scratch(t);
  const run = join(dir, 'run');
  mkdirSync(run, { mode: 0o755 });
  const target = join(dir, 'state-file');
  writeFileSync(target, 'secret');
  chmodSync(target, 0o600);
  const path = join(run, 'channel.sock');
  symlinkSync(target, path);
  const server = await listenSafely(path, GID);
  t.after(() => server.close());
  const st = statSync(target);
  assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [0, 0, 0o600], 'the link target is unchanged');
  const sock = lstatSync(path);
  assert.ok(sock.isSocket());
  assert.deepEqual([sock.uid, sock.gid, sock.mode & 0o777], [0, GID, SOCKET_MODE]);
  const d = lstatSync(run);
  assert.deepEqual([d.uid, d.gid, d.mode & 0o7777], [0, GID, SOCKET_DIR_MODE], 'the directory is the probe side’s');
  // It is a working socket.
  const accepted = new Promise((r) => server.once('connection', r));
  const c = connect(path);
  await accepted;
  c.destroy();
});

test('a missing directory is created the probe side’s', async (t) => {
  const path = join(scratch(t), 'a', 'b', 'channel.sock');
  const server = await listenSafely(path, GID);
  t.after(() => server.close());
  const d = lstatSync(join(path, '..'));
  assert.deepEqual([d.uid, d.gid, d.mode & 0o7777], [0, GID, SOCKET_DIR_MODE]);
});

for (const [name, prepare] of [
  ['a world-writable directory', (run: string) => (mkdirSync(run), chmodSync(run, 0o777))],
  ['a group-writable directory', (run: string) => (mkdirSync(run), chmodSync(run, 0o770))],
  ['a directory of another user', (run: string) => (mkdirSync(run, { mode: 0o755 }), chownSync(run, 10001, 10001))],
  [
    'a symlink to a directory',
    (run: string) => {
      mkdirSync(`${run}-real`, { mode: 0o755 });
      symlinkSync(`${run}-real`, run);
    },
  ],
] as const) {
  test(`${name} is refused with CHANNEL_ERR_UNSAFE naming it, and left unchanged`, async (t) => {
    const dir = scratch(t);
    const run = join(dir, 'run');
    prepare(run);
    const before = lstatSync(run);
    const real = statSync(run);
    await assert.rejects(listenSafely(join(run, 'channel.sock'), GID), (err: unknown) => {
      assert.ok(err instanceof TriplineError);
      assert.equal(err.code, 'CHANNEL_ERR_UNSAFE');
      assert.ok(err.message.includes(run), err.message);
      assert.match(err.hint, /0750/);
      return true;
    });
    const after = lstatSync(run);
    assert.deepEqual([after.uid, after.gid, after.mode], [before.uid, before.gid, before.mode]);
    const realAfter = statSync(run);
    assert.deepEqual([realAfter.uid, realAfter.gid, realAfter.mode], [real.uid, real.gid, real.mode]);
  });
}

test('the network side’s user connects to the socket but can plant, rename or remove nothing in its directory', async (t) => {
  const user = lookupUser('tripline');
  if (!user) return skipOrFail(t, 'the user tripline does not exist (scripts/setup.sh creates it)');
  const dir = scratch(t);
  chmodSync(dir, 0o755);
  const run = join(dir, 'run');
  const path = join(run, 'channel.sock');
  const server = await listenSafely(path, user.gid);
  t.after(() => server.close());
  const target = join(dir, 'state-file');
  writeFileSync(target, 'x', { mode: 0o600 });
  const as = (...argv: string[]) =>
    spawnSync('setpriv', ['--reuid=tripline', '--regid=tripline', '--clear-groups', ...argv], {
      encoding: 'utf8',
      timeout: 10_000,
    });
  // The race of the review: a symlink renamed over channel.sock, or the socket removed, needs write on the folder.
  assert.notEqual(as('ln', '-s', target, join(run, 'evil')).status, 0, 'no symlink planted');
  assert.notEqual(as('rm', '-f', path).status, 0, 'the socket is not removed');
  assert.notEqual(as('mv', path, join(run, 'moved')).status, 0, 'the socket is not renamed');
  assert.ok(lstatSync(path).isSocket());
  const accepted = new Promise((r) => server.once('connection', r));
  const c = as(
    process.execPath,
    '-e',
    `require('node:net').connect(${JSON.stringify(path)}).on('connect', function () { this.destroy(); }).on('error', () => process.exit(3))`,
  );
  assert.equal(c.status, 0, c.stderr);
  await accepted;
});

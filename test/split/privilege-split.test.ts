// `tripline run` as two processes, checked from outside as a security reviewer would: the process that listens
// holds no capability and is not root; the probe side listens on no port; SIGKILL of either side brings the other
// down within seconds and leaves no BPF program behind.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelTest, skipOrFail } from '../support/kernel.ts';
import { orphanedTriplinePrograms, loadedPrograms, programsHeldBy } from '../support/bpf-programs.ts';
import { lookupUser } from '../../src/split/spawn.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'tripline');

interface Run {
  readonly child: ChildProcess;
  readonly port: number;
  readonly dir: string;
  stderr(): string;
  readonly exited: Promise<number | null>;
}

/** Starts `tripline run` (two processes) with a temp data_dir; resolves when the network side listens. */
function startRun(args: string[]): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-split-'));
  const env = { ...process.env, TRIPLINE_DATA_DIR: dir, REDIS_URL: '', SLACK_BOT_TOKEN: '' };
  const child = spawn(bin, ['run', '--listen', '127.0.0.1:0', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tripline run did not start:\n${err}`)), 90_000);
    child.stderr!.on('data', (d) => {
      err += d;
      const m = /"listen":"127\.0\.0\.1:(\d+)"[^\n]*"msg":"tripline running"/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), dir, stderr: () => err, exited });
      }
    });
    void exited.then((code) => reject(new Error(`tripline run exited ${code}:\n${err}`)));
  });
}

/** Pids of the processes holding a listening TCP socket on `port`. */
function listeners(port: number): number[] {
  const out = execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' });
  return [...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
}

/** Listening TCP ports a process holds (from its socket inodes and /proc/net/tcp{,6}). */
function listeningPortsOf(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      /* closed meanwhile */
    }
  }
  const ports: number[] = [];
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A' && inodes.has(cols[9])) ports.push(parseInt(cols[1].split(':')[1], 16));
    }
  }
  return ports;
}

function status(pid: number): Record<string, string> {
  return Object.fromEntries(
    readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .map((l) => l.split(':\t'))
      .filter((p) => p.length === 2),
  );
}

/** The network side's pid: the child of setpriv's exec, i.e. the process that listens. */
function networkPid(run: Run): number {
  const pids = listeners(run.port);
  assert.equal(pids.length, 1, `one process listens on ${run.port}: ${pids}`);
  return pids[0];
}

async function gone(p: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
}

function needUser(t: TestContext): boolean {
  if (lookupUser('tripline')) return true;
  skipOrFail(t, 'the user tripline does not exist (scripts/setup.sh creates it)');
  return false;
}

test('the listening process has empty capability sets and a non-zero uid; the probe side listens on no port', async (t) => {
  if (!needUser(t)) return;
  const run = await startRun(['--no-bpf']);
  try {
    const net = networkPid(run);
    assert.notEqual(net, run.child.pid);
    const st = status(net);
    assert.notEqual(st.Uid.split('\t')[0], '0', 'not root');
    assert.equal(st.Uid.split('\t')[0], String(lookupUser('tripline')!.uid));
    for (const set of ['CapEff', 'CapPrm', 'CapBnd', 'CapInh', 'CapAmb'])
      assert.equal(st[set], '0000000000000000', set);
    assert.equal(st.NoNewPrivs, '1');
    assert.equal(st.Groups.trim(), '', 'no supplementary groups');
    // bin/tripline execs Node, so the child is the probe side itself: it holds no listening TCP socket.
    assert.deepEqual(listeningPortsOf(run.child.pid!), [], 'the probe side listens on nothing');
    assert.equal(status(run.child.pid!).Uid.split('\t')[0], '0');
    // The API token is the probe side's file; the network side reads bundles but not the token.
    assert.throws(() =>
      execFileSync(
        'setpriv',
        ['--reuid=tripline', '--regid=tripline', '--clear-groups', 'cat', join(run.dir, 'api-token')],
        { stdio: 'pipe' },
      ),
    );
  } finally {
    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0);
    rmSync(run.dir, { recursive: true, force: true });
  }
});

kernelTest(
  'SIGKILL of the network side stops the probe side within seconds, exiting non-zero, with no BPF program left',
  async (t) => {
    if (!needUser(t)) return;
    const before = new Set(loadedPrograms().keys());
    const run = await startRun([]);
    try {
      const net = networkPid(run);
      assert.ok(programsHeldBy(run.child.pid!).size > 0, 'the probe side holds the programs');
      assert.equal(programsHeldBy(net).size, 0, 'the network side holds none');
      process.kill(net, 'SIGKILL');
      assert.ok(await gone(run.exited, 10_000), 'the probe side followed within 10 s');
      assert.notEqual(await run.exited, 0, 'a non-zero exit, so the service restarts');
      assert.deepEqual(await orphanedTriplinePrograms(before), []);
    } finally {
      run.child.kill('SIGKILL');
      rmSync(run.dir, { recursive: true, force: true });
    }
  },
  { timeout: 180_000 },
);

kernelTest(
  'SIGKILL of the probe side: the network side exits within seconds; no BPF program left',
  async (t) => {
    if (!needUser(t)) return;
    const before = new Set(loadedPrograms().keys());
    const run = await startRun([]);
    try {
      const net = networkPid(run);
      // bin/tripline execs Node, so the child is the probe side itself.
      run.child.kill('SIGKILL');
      await run.exited;
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        try {
          process.kill(net, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.throws(() => process.kill(net, 0), 'the network side is gone within 10 s');
      assert.deepEqual(await orphanedTriplinePrograms(before), []);
    } finally {
      rmSync(run.dir, { recursive: true, force: true });
    }
  },
  { timeout: 180_000 },
);

test('two-container mode: the probe side waits on network.channel; a network side started apart connects and serves', async (t) => {
  if (!needUser(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'tripline-split2-'));
  const channel = join(dir, 'run', 'channel.sock');
  execFileSync('mkdir', ['-p', join(dir, 'run')]);
  execFileSync('chmod', ['0755', dir, join(dir, 'run')]);
  const config = join(dir, 'tripline.yaml');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    config,
    JSON.stringify({
      listen: '127.0.0.1:0',
      data_dir: join(dir, 'data'),
      rules: [join(import.meta.dirname, '..', '..', 'rules')],
      network: { channel },
    }),
  );
  const env = { ...process.env, REDIS_URL: '', SLACK_BOT_TOKEN: '' };
  const probe = spawn(bin, ['run', '--no-bpf', '--config', config], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  probe.stderr!.on('data', (d) => (err += d));
  const probeExit = new Promise<number | null>((r) => probe.once('exit', (c) => r(c)));
  // As the second container would: the unprivileged user, the socket path, nothing else.
  for (let i = 0; i < 100 && !err.includes('waiting for the network side'); i++)
    await new Promise((r) => setTimeout(r, 100));
  const net = spawn(
    'setpriv',
    [
      '--reuid=tripline',
      '--regid=tripline',
      '--clear-groups',
      '--',
      process.execPath,
      join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts'),
      'network',
      '--channel',
      channel,
    ],
    {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  net.stderr!.on('data', (d) => (err += d));
  const netExit = new Promise<number | null>((r) => net.once('exit', (c) => r(c)));
  try {
    for (let i = 0; i < 200 && !/"msg":"tripline running"/.test(err); i++) await new Promise((r) => setTimeout(r, 100));
    const port = Number(/"listen":"127\.0\.0\.1:(\d+)"[^\n]*"msg":"tripline running"/.exec(err)?.[1]);
    assert.ok(port > 0, err);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    assert.deepEqual(listeners(port), [net.pid], 'the network container listens, the probe side does not');
    probe.kill('SIGTERM');
    assert.equal(await probeExit, 0);
    assert.equal(await netExit, 0, 'the network side stops after the probe side says goodbye');
  } finally {
    probe.kill('SIGKILL');
    net.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

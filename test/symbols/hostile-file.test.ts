// Files of monitored processes are hostile: a FIFO, /dev/zero, a huge sparse file or a link to a host file planted
// as a perf map (or on the path to a binary) is refused at once with a note, never read, never blocking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readInRoot, readRegularFile, HostileFileError, encodeDev } from '../../src/symbols/hostile-file.ts';
import { readPerfMap } from '../../src/symbols/perf-map.ts';
import { Symbolizer } from '../../src/symbols/symbolizer.ts';

/** Runs `fn` with a live process whose /tmp/perf-PID.map is made by `plant`; cleans both up. */
async function withPlantedPerfMap(plant: (path: string) => void, fn: (pid: number) => void): Promise<void> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  await once(child, 'spawn');
  const path = `/tmp/perf-${child.pid}.map`;
  try {
    plant(path);
    fn(child.pid!);
  } finally {
    child.kill('SIGKILL');
    rmSync(path, { force: true });
  }
}

function refusedPerfMap(pid: number): string[] {
  const notes: string[] = [];
  const t = performance.now();
  assert.equal(
    readPerfMap(pid, pid, (n) => notes.push(n)),
    undefined,
  );
  assert.ok(performance.now() - t < 5_000, 'no hang');
  assert.equal(notes.length, 1);
  return notes;
}

test('a FIFO as perf map is refused without blocking', async () => {
  await withPlantedPerfMap(
    (p) => execFileSync('mkfifo', [p]),
    (pid) => assert.match(refusedPerfMap(pid)[0], /is a FIFO, not a regular file/),
  );
});

test('a link to /dev/zero or to a host file as perf map is not followed', async () => {
  await withPlantedPerfMap(
    (p) => symlinkSync('/dev/zero', p),
    (pid) => assert.match(refusedPerfMap(pid)[0], /is a symbolic link/),
  );
  await withPlantedPerfMap(
    (p) => symlinkSync('/etc/passwd', p),
    (pid) => assert.match(refusedPerfMap(pid)[0], /is a symbolic link/),
  );
});

test('a 10 GB sparse perf map is refused before any read', async () => {
  await withPlantedPerfMap(
    (p) => {
      writeFileSync(p, '');
      truncateSync(p, 10 * 2 ** 30);
    },
    (pid) => assert.match(refusedPerfMap(pid)[0], /is 10737418240 bytes, over the \d+-byte cap/),
  );
});

test('an ordinary perf map still reads', async () => {
  await withPlantedPerfMap(
    (p) => writeFileSync(p, '1000 20 jit_fn\n'),
    (pid) =>
      assert.deepEqual(
        readPerfMap(pid)?.map((s) => s.name),
        ['jit_fn'],
      ),
  );
});

test("a link on the way inside a process's root is not followed out of it", () => {
  const root = mkdtempSync(join(tmpdir(), 'tripline-root-'));
  try {
    symlinkSync('/etc', join(root, 'tmp')); // inside the root, /tmp → /etc: through /proc/PID/root that is the host's
    assert.throws(
      () => readInRoot(root, '/tmp/passwd', 1 << 20),
      (e) => e instanceof HostileFileError && /\/tmp is a symbolic link \(not followed/.test(e.message),
    );
    mkdirSync(join(root, 'app'));
    writeFileSync(join(root, 'app', 'ok'), 'fine');
    assert.equal(readInRoot(root, '/app/ok', 1 << 20).data?.toString(), 'fine');
    assert.throws(() => readInRoot(root, '/app/../tmp/passwd', 1 << 20), /not a plain absolute path/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a file that is not the inode the process mapped is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-id-'));
  try {
    writeFileSync(join(dir, 'bin'), 'x');
    assert.throws(
      () => readRegularFile(join(dir, 'bin'), { maxBytes: 10, identity: { ino: 1 } }),
      /is not the file the process mapped/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(encodeDev('fd:01'), (0xfd << 8) | 1);
  assert.equal(encodeDev('00:1a2'), 0xa2 | (0x100 << 12));
});

test('the symbolizer leaves JIT frames of a hostile perf map unresolved and says why', async () => {
  await withPlantedPerfMap(
    (p) => execFileSync('mkfifo', [p]),
    (pid) => {
      const sym = new Symbolizer();
      sym.track(pid);
      assert.equal(sym.user(pid, 0x10n), '[unknown]');
      assert.equal(sym.notes().length, 1);
      assert.match(sym.notes()[0], new RegExp(`perf map of pid ${pid} not read: .*is a FIFO`));
    },
  );
});

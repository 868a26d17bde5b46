import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeFileDurable } from '../src/atomic-file.ts';

const dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-atomic-`));
after(() => rmSync(dir, { recursive: true, force: true }));

test('writeFileAtomic creates missing folders 0700, writes 0600 and leaves no temporary file', async () => {
  const file = join(dir, 'new', 'state.json');
  await writeFileAtomic(file, '{"a":1}');
  assert.equal(readFileSync(file, 'utf8'), '{"a":1}');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'new')).mode & 0o777, 0o700);
  assert.deepEqual(readdirSync(join(dir, 'new')), ['state.json']);
});

test('a replaced file gets the asked mode, not the old one nor a wider umask result', async () => {
  const file = join(dir, 'replaced.json');
  writeFileSync(file, 'old');
  chmodSync(file, 0o644);
  const umask = process.umask(0);
  try {
    await writeFileAtomic(file, Buffer.from('new'));
  } finally {
    process.umask(umask);
  }
  assert.equal(readFileSync(file, 'utf8'), 'new');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  await writeFileAtomic(file, 'shared', { mode: 0o640 });
  assert.equal(statSync(file).mode & 0o777, 0o640);
});

test('concurrent writes each land whole; the last to rename wins', async () => {
  const file = join(dir, 'race.json');
  const texts = Array.from({ length: 20 }, (_, i) => String(i).repeat(10_000));
  await Promise.all(texts.map((t) => writeFileAtomic(file, t)));
  assert.ok(texts.includes(readFileSync(file, 'utf8')));
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.startsWith('.race')),
    [],
  );
});

test('a failed write removes its temporary file and keeps the old content', async () => {
  const sub = join(dir, 'fail');
  await writeFileAtomic(join(sub, 'x'), 'kept');
  // A folder in the way of the rename: the write fails after the temporary file was made.
  await writeFileAtomic(join(sub, 'd', 'inner'), 'y');
  await assert.rejects(writeFileAtomic(join(sub, 'd'), 'z'), /EISDIR|ENOTEMPTY|EEXIST/);
  assert.deepEqual(readdirSync(sub).sort(), ['d', 'x']);
  assert.equal(readFileSync(join(sub, 'x'), 'utf8'), 'kept');
});

test('an explicit temporary path is used and removed; a durable write refuses a taken name', async () => {
  const file = join(dir, 'bundle.tar.gz');
  await writeFileAtomic(file, 'tar', { tmpPath: join(dir, '.tmp-bundle.tar.gz') });
  assert.equal(readFileSync(file, 'utf8'), 'tar');
  assert.ok(!readdirSync(dir).includes('.tmp-bundle.tar.gz'));
  await assert.rejects(writeFileDurable(file, 'again'), /EEXIST/);
  symlinkSync(join(dir, 'elsewhere'), join(dir, 'link'));
  await assert.rejects(writeFileDurable(join(dir, 'link'), 'x'), /EEXIST/);
  assert.ok(!readdirSync(dir).includes('elsewhere'));
});

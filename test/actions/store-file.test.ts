import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../../src/actions/store-file.ts';
import { hasCode } from '../../src/errors.ts';

const dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-store-`));
after(() => rmSync(dir, { recursive: true, force: true }));

test('values, expiry and set-if-absent survive a restart (a new store on the same file)', async () => {
  let t = 1_000_000;
  const now = (): number => t;
  const file = join(dir, 'sub', 'action-store.json');
  const a = new FileStore(file, now);
  await a.set('slack:thread:k', '{"ts":"1.2"}');
  assert.equal(await a.setIfAbsent('scale:cooldown:w', 'k1', 60_000), true);
  assert.equal(await a.setIfAbsent('scale:cooldown:w', 'k2', 60_000), false);
  await a.set('gone', 'x');
  await a.del('gone');
  assert.equal(statSync(file).mode & 0o777, 0o600);

  const b = new FileStore(file, now);
  assert.equal(await b.get('slack:thread:k'), '{"ts":"1.2"}');
  assert.equal(await b.get('scale:cooldown:w'), 'k1');
  assert.equal(await b.get('gone'), undefined);
  t += 60_001;
  assert.equal(await b.get('scale:cooldown:w'), undefined, 'expired');
  assert.equal(await b.setIfAbsent('scale:cooldown:w', 'k3', 1000), true);
});

test('a damaged file is a coded error naming the file and the way out', () => {
  const file = join(dir, 'bad.json');
  writeFileSync(file, '{not json');
  assert.throws(
    () => new FileStore(file),
    (e: unknown) => hasCode(e, 'ACTION_ERR_CONFIG') && e.message.includes(file) && /move .* away/.test(e.hint),
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileOffset, findMapping, parseMaps, readMaps } from '../../src/symbols/proc-maps.ts';

const TEXT = [
  '55d0c0000000-55d0c0001000 r--p 00000000 fd:01 1234                       /usr/bin/app',
  '55d0c0001000-55d0c0005000 r-xp 00001000 fd:01 1234                       /usr/bin/app',
  '7f0000000000-7f0000100000 rwxp 00000000 00:00 0 ',
  '7f1000000000-7f1000002000 r-xp 00028000 fd:01 99                         /lib/libc.so.6 (deleted)',
  '7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]',
].join('\n');

test('parses mappings and finds the one holding an address', () => {
  const maps = parseMaps(TEXT);
  assert.equal(maps.length, 5);
  const app = findMapping(maps, 0x55d0c0002345n)!;
  assert.equal(app.path, '/usr/bin/app');
  assert.ok(app.executable);
  assert.equal(fileOffset(app, 0x55d0c0002345n), 0x2345n);
  assert.equal(findMapping(maps, 0x7f1000000010n)?.path, '/lib/libc.so.6');
  assert.equal(findMapping(maps, 0x7f0000000010n)?.path, '');
  assert.equal(findMapping(maps, 0x1000n), undefined);
  assert.equal(findMapping(maps, 0x55d0c0005000n), undefined, 'end is exclusive');
});

test('reads a live process and reports an exited one as gone', () => {
  const maps = readMaps(process.pid)!;
  assert.ok(
    maps.some((m) => m.executable && m.path.endsWith('node')),
    'node maps its own binary',
  );
  assert.equal(readMaps(0x7ffffff0), undefined);
});

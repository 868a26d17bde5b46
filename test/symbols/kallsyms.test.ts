import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { kallsyms, parseKallsyms } from '../../src/symbols/kallsyms.ts';

test('parses text symbols, with modules, and finds the holder of an address', () => {
  const k = parseKallsyms(
    [
      'ffffffff81000000 T _text',
      'ffffffff81000100 t do_thing',
      'ffffffff81000200 D some_data',
      'ffffffffc0001000 t mod_fn\t[mymod]',
      '0000000000000000 T hidden',
    ].join('\n'),
  );
  assert.deepEqual(
    k.symbols.map((s) => s.name),
    ['_text', 'do_thing', 'mod_fn'],
  );
  assert.equal(k.name(0xffffffff81000150n), 'do_thing');
  assert.equal(k.name(0xffffffffc0001004n), 'mod_fn');
  assert.equal(k.name(0x10n), '0x10');
});

test('the running kernel: schedule+4 is schedule', () => {
  const line = readFileSync('/proc/kallsyms', 'utf8')
    .split('\n')
    .find((l) => / [Tt] schedule$/.test(l));
  assert.ok(line, 'schedule in /proc/kallsyms');
  const addr = BigInt(`0x${line.split(' ')[0]}`);
  if (addr === 0n) return; // addresses hidden from this reader: nothing to resolve
  assert.equal(kallsyms().name(addr + 4n), 'schedule');
});

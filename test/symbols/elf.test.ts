import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { findSymbol, offsetToVaddr, parseElf, readElf } from '../../src/symbols/elf.ts';
import { hasCode } from '../../src/errors.ts';

const POSTGRES = '/usr/local/bin/postgres';
const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';

/** Defined text symbols as `nm -D` sees them: address → names (aliases share an address). */
function nmDynamic(path: string): Map<bigint, string[]> {
  const out = new Map<bigint, string[]>();
  for (const line of execFileSync('nm', ['-D', '--defined-only', path], { encoding: 'utf8' }).split('\n')) {
    const m = /^([0-9a-f]+) [Tti] (\S+?)(@.*)?$/.exec(line);
    if (!m) continue;
    const addr = BigInt(`0x${m[1]}`);
    out.set(addr, [...(out.get(addr) ?? []), m[2]]);
  }
  return out;
}

for (const path of [POSTGRES, LIBC]) {
  test(`every exported function of ${path} resolves to its nm name`, () => {
    const elf = readElf(path);
    const want = nmDynamic(path);
    assert.ok(want.size > 100, 'nm lists the exports');
    let checked = 0;
    for (const [addr, names] of want) {
      const sym = findSymbol(elf.symbols, addr);
      assert.ok(sym, `no symbol at 0x${addr.toString(16)} (${names[0]})`);
      assert.equal(sym.addr, addr, `${names[0]}`);
      // Inside the function too (not only at its first byte).
      if (sym.size > 1n) assert.equal(findSymbol(elf.symbols, addr + 1n)?.addr, addr);
      checked++;
    }
    assert.equal(checked, want.size);
  });
}

test('build id matches readelf', () => {
  const text = execFileSync('readelf', ['-n', POSTGRES], { encoding: 'utf8' });
  const want = /Build ID: ([0-9a-f]+)/.exec(text)?.[1];
  assert.ok(want);
  assert.equal(readElf(POSTGRES).buildId, want);
});

test('file offsets map to virtual addresses through PT_LOAD', () => {
  const elf = readElf(LIBC);
  const text = elf.segments.find((s) => s.executable)!;
  assert.ok(text);
  assert.equal(offsetToVaddr(elf, text.offset + 0x10n), text.vaddr + 0x10n);
  assert.equal(offsetToVaddr(elf, 1n << 40n), undefined);
});

test('a non-ELF buffer is a coded error', () => {
  assert.throws(
    () => parseElf(Buffer.from('#!/bin/sh\necho hi\n'.padEnd(80)), 'script.sh'),
    (e) => hasCode(e, 'PROBE_ERR_OPEN') && /script\.sh/.test(e.message),
  );
  const truncated = Buffer.from(readFileSync('/bin/ls').subarray(0, 64));
  assert.throws(
    () => parseElf(truncated, 'ls'),
    (e) => hasCode(e, 'PROBE_ERR_OPEN'),
  );
});

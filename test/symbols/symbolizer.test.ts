import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Symbolizer } from '../../src/symbols/symbolizer.ts';
import { readElf } from '../../src/symbols/elf.ts';
import { readMaps } from '../../src/symbols/proc-maps.ts';

/** Runtime address of an exported function of a library mapped into `pid`, computed from nm and the maps. */
function runtimeAddress(pid: number, lib: string, fn: string): bigint {
  const line = execFileSync('nm', ['-D', '--defined-only', lib], { encoding: 'utf8' })
    .split('\n')
    .find((l) => new RegExp(` ${fn}(@|$)`).test(l))!;
  const vaddr = BigInt(`0x${line.split(' ')[0]}`);
  const seg = readElf(lib).segments.find((s) => vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz)!;
  const off = vaddr - seg.vaddr + seg.offset;
  const m = readMaps(pid)!.find((x) => x.path === lib && off >= x.offset && off < x.offset + (x.end - x.start))!;
  return m.start + (off - m.offset);
}

test('user frames of a process that exited still resolve when it was tracked', async () => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  await sleep(200); // let the dynamic loader map libc
  const pid = child.pid!;
  const libc = readMaps(pid)!.find((m) => /libc\.so/.test(m.path))!.path;
  const addr = runtimeAddress(pid, libc, 'malloc');
  const sym = new Symbolizer();
  sym.track(pid);
  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.equal(readMaps(pid), undefined, 'the process is gone');
  assert.equal(sym.user(pid, addr + 3n), 'malloc');
  assert.equal(sym.user(pid, 0x10n), '[unknown]');
  assert.equal(sym.user(424242424, 0x1234n), '0x1234', 'never seen: the address');
});

test('stacks come out root first, leaf last, user then kernel', () => {
  const sym = new Symbolizer();
  const frames = sym.stack(process.pid, [0n], [0n]);
  assert.deepEqual(frames, []);
  const k = sym.stack(process.pid, [1n, 2n], []);
  assert.equal(k.length, 2);
});

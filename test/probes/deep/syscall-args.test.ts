import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSyscallArgs } from '../../../src/probes/deep/syscall-args.ts';

test('syscall arguments in plain words', () => {
  const cases: [string, bigint[], string | undefined, boolean, string][] = [
    ['read', [3n, 0x7ffd0000n, 4096n], undefined, true, 'fd=3 count=4096'],
    ['pwrite64', [7n, 0x7f00n, 512n], undefined, true, 'fd=7 count=512'],
    ['fsync', [0xffffffffn, 0n, 0n], undefined, true, 'fd=-1'],
    ['openat', [0xffffff9cn, 0x1000n, 0x241n], '/etc/secret', true, 'dirfd=AT_FDCWD path=<redacted> flags=0x241'],
    ['openat', [0xffffffffffffff9cn, 0x1000n, 0n], '/etc/hosts', false, 'dirfd=AT_FDCWD path="/etc/hosts" flags=0x0'],
    ['openat', [5n, 0x1000n, 0n], undefined, false, 'dirfd=5 path=? flags=0x0'],
    ['clock_nanosleep', [1n, 0n, 0n], undefined, true, 'clock=1 flags=0x0'],
    ['getppid', [0n, 16n, 255n], undefined, true, 'arg0=0x0 arg1=0x10 arg2=0xff'],
  ];
  for (const [name, args, path, redact, want] of cases)
    assert.equal(formatSyscallArgs(name, args, path, redact), want, name);
});

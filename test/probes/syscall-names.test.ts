import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syscallName, syscallTable } from '../../src/probes/syscall-names.ts';

test('x86_64 numbers', () => {
  assert.equal(syscallName(0, 'x64'), 'read');
  assert.equal(syscallName(1, 'x64'), 'write');
  assert.equal(syscallName(59, 'x64'), 'execve');
  assert.equal(syscallName(202, 'x64'), 'futex');
  assert.equal(syscallName(435, 'x64'), 'clone3');
});

test('arm64 uses the generic table', () => {
  assert.equal(syscallName(63, 'arm64'), 'read');
  assert.equal(syscallName(64, 'arm64'), 'write');
  assert.equal(syscallName(79, 'arm64'), 'newfstatat');
  assert.equal(syscallName(221, 'arm64'), 'execve');
  assert.equal(syscallName(98, 'arm64'), 'futex');
});

test('numbers added up to Linux 6.18 are shared by both tables', () => {
  for (const arch of ['x64', 'arm64']) {
    assert.equal(syscallName(451, arch), 'cachestat');
    assert.equal(syscallName(462, arch), 'mseal');
    assert.equal(syscallName(469, arch), 'file_setattr');
  }
});

test('unknown numbers and architectures get sys_<nr>', () => {
  assert.equal(syscallName(999, 'x64'), 'sys_999');
  assert.equal(syscallName(0, 'riscv64'), 'sys_0');
  assert.equal(syscallTable('ppc64'), undefined);
});

test('names are unique within a table', () => {
  for (const arch of ['x64', 'arm64']) {
    const names = Object.values(syscallTable(arch)!);
    assert.equal(new Set(names).size, names.length, arch);
  }
});

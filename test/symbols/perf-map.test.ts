import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parsePerfMap, perfMapName, readPerfMap } from '../../src/symbols/perf-map.ts';

test('parses perf map lines; later entries for the same address win', () => {
  const syms = parsePerfMap(
    '1000 20 LazyCompile:*foo /app.js:1\n2000 10 bar\n1000 20 LazyCompile:*foo2 /app.js:1\nnot a line\n',
  );
  assert.deepEqual(
    syms.map((s) => s.name),
    ['LazyCompile:*foo2 /app.js:1', 'bar'],
  );
  assert.equal(perfMapName(syms, 0x1010n), 'LazyCompile:*foo2 /app.js:1');
  assert.equal(perfMapName(syms, 0x1500n), undefined);
});

test('reads the perf map a real node --perf-basic-prof writes', async () => {
  const child = spawn(
    process.execPath,
    [
      '--perf-basic-prof',
      '-e',
      'function tripline_jit_fn(n){let s=0;for(let i=0;i<n;i++)s+=i;return s} for(let i=0;i<200;i++)tripline_jit_fn(1e4); setTimeout(()=>{}, 20000)',
    ],
    { stdio: 'ignore' },
  );
  const path = `/tmp/perf-${child.pid}.map`;
  try {
    for (let i = 0; i < 100 && !(existsSync(path) && readFileSync(path, 'utf8').includes('tripline_jit_fn')); i++)
      await sleep(100);
    const syms = readPerfMap(child.pid!)!;
    assert.ok(syms, 'map found');
    const fn = syms.find((s) => s.name.includes('tripline_jit_fn'));
    assert.ok(fn, 'the JIT-compiled function is in the map');
    assert.match(perfMapName(syms, fn.addr + 1n)!, /tripline_jit_fn/);
  } finally {
    child.kill('SIGKILL');
    rmSync(path, { force: true });
  }
});

// scripts/build-js and bin/tripline: installations run JavaScript compiled once (no type stripping at every start),
// a checkout whose src/ changed since runs from source and says so, and the engine loads the SDKs of Slack, Redis and
// BullMQ (and pprof encoding) only when it uses them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INSTALL_DIR } from '../../src/paths.ts';

const node = join(INSTALL_DIR, 'scripts', 'node');

test('bin/tripline runs dist/ when it is current, src/ (saying so) when src/ is newer', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tripline-entry-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'bin'));
  mkdirSync(join(root, 'scripts'));
  mkdirSync(join(root, 'src', 'cli'), { recursive: true });
  mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
  cpSync(join(INSTALL_DIR, 'bin', 'tripline'), join(root, 'bin', 'tripline'));
  writeFileSync(join(root, 'scripts', 'node'), `#!/bin/sh\nexec ${node} "$@"\n`, { mode: 0o755 });
  writeFileSync(join(root, 'src', 'cli', 'main.ts'), "console.log('from src', process.argv.slice(2).join(' '));\n");
  writeFileSync(join(root, 'dist', 'cli', 'main.js'), "console.log('from dist', process.argv.slice(2).join(' '));\n");
  const run = () => spawnSync(join(root, 'bin', 'tripline'), ['x', 'y'], { encoding: 'utf8' });
  const past = new Date(Date.now() - 60_000);
  utimesSync(join(root, 'src', 'cli', 'main.ts'), past, past);

  let r = run();
  assert.equal(r.stdout, 'from src x y\n', 'no build: from source');
  assert.equal(r.stderr, '', 'quietly, in a checkout never built');

  writeFileSync(join(root, 'dist', '.built'), '');
  r = run();
  assert.equal(r.stdout, 'from dist x y\n');
  assert.equal(r.stderr, '');

  utimesSync(join(root, 'src', 'cli', 'main.ts'), new Date(), new Date(Date.now() + 1000));
  r = run();
  assert.equal(r.stdout, 'from src x y\n', 'src changed after the build: from source');
  assert.match(r.stderr, /running from source: dist\/ is older than src\/ \(scripts\/build-js/);

  rmSync(join(root, 'src'), { recursive: true }); // the container image ships dist/ without src/
  r = run();
  assert.equal(r.stdout, 'from dist x y\n');
  assert.equal(r.stderr, '');
});

test('the compiled engine starts the CLI and loads no Slack, Redis or BullMQ code until it uses them', () => {
  execFileSync(join(INSTALL_DIR, 'scripts', 'build-js'), { stdio: 'ignore' });
  assert.match(execFileSync(join(INSTALL_DIR, 'bin', 'tripline'), ['--version'], { encoding: 'utf8' }), /^tripline /);
  // A resolve hook lists every package the import pulls in.
  const hook = `
    import { registerHooks } from 'node:module';
    globalThis.loaded = new Set();
    registerHooks({ resolve(s, c, next) { const r = next(s, c);
      const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(r.url); if (m) globalThis.loaded.add(m[1]); return r; } });
    await import(${JSON.stringify(join(INSTALL_DIR, 'dist', 'engine.js'))});
    console.log(JSON.stringify([...globalThis.loaded].sort()));`;
  const loaded = JSON.parse(execFileSync(node, ['--input-type=module', '-e', hook], { encoding: 'utf8' })) as string[];
  for (const lazy of ['@slack/web-api', 'ioredis', 'bullmq', 'axios', 'pprof-format'])
    assert.ok(!loaded.includes(lazy), `${lazy} loaded at import: ${loaded.join(', ')}`);
  assert.ok(loaded.includes('koffi') && loaded.includes('prom-client'), loaded.join(', '));
});

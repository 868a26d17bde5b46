// The per-file watchdog of scripts/test: a test file kept alive by a handle fails, naming the handle; the runner
// that starts the files is not watched, and a file that ends on its own is not held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INSTALL_DIR } from '../../src/paths.ts';

test('a test file still running after its minutes fails, naming what keeps it alive; others pass', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-watchdog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'hang.test.mjs'),
    "import { test } from 'node:test';\ntest('leaves a timer', () => { setInterval(() => {}, 1000); });\n",
  );
  writeFileSync(join(dir, 'ok.test.mjs'), "import { test } from 'node:test';\ntest('fine', () => {});\n");
  const env: NodeJS.ProcessEnv = { ...process.env, TRIPLINE_TEST_FILE_MINUTES: '0.03' };
  delete env.NODE_TEST_CONTEXT; // this run is a runner of its own, not a file of ours
  const started = Date.now();
  const r = spawnSync(
    join(INSTALL_DIR, 'scripts', 'node'),
    ['--test', '--import', join(INSTALL_DIR, 'test', 'support', 'watchdog.ts'), 'hang.test.mjs', 'ok.test.mjs'],
    { cwd: dir, env, encoding: 'utf8', timeout: 60_000 },
  );
  const out = r.stdout + r.stderr;
  assert.notEqual(r.status, 0, out);
  assert.match(out, /watchdog: \S*hang\.test\.mjs still running after 0\.03 min; open: .*Timeout/);
  assert.match(out, /✔ fine/);
  assert.match(out, /ℹ pass 2/, 'both tests ran');
  assert.ok(Date.now() - started < 30_000, 'ended by the watchdog, not by the spawn timeout');
});

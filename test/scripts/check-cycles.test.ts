// scripts/check-cycles.ts, which scripts/test runs beside the layer check: a runtime import cycle fails and is
// named; a cycle through type-only imports does not count (they erase at run time).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const script = join(import.meta.dirname, '..', '..', 'scripts', 'check-cycles.ts');

function run(files: Record<string, string>): { status: number | null; out: string } {
  const root = mkdtempSync(join(tmpdir(), 'tripline-cycles-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    const r = spawnSync(process.execPath, [script, root], { encoding: 'utf8' });
    return { status: r.status, out: r.stdout + r.stderr };
  } finally {
    rmSync(root, { recursive: true });
  }
}

test('a runtime import cycle fails, naming its files in order', () => {
  const r = run({
    'a.ts': "import { b } from './sub/b.ts';\nexport const a = () => b;\n",
    'sub/b.ts': "import { a } from '../a.ts';\nexport const b = () => a;\n",
  });
  assert.equal(r.status, 1);
  assert.match(r.out, /import cycle: .*a\.ts -> .*sub\/b\.ts -> .*a\.ts/);
});

test('acyclic imports and a cycle through type-only imports pass', () => {
  const r = run({
    'a.ts': "import type { B } from './b.ts';\nexport type A = { b?: B };\n",
    'b.ts': "import type { A } from './a.ts';\nimport { c } from './c.ts';\nexport type B = { a?: A };\nvoid c;\n",
    'c.ts': 'export const c = 1;\n',
  });
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /no import cycles in 3 files/);
});

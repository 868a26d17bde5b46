// The structure checks scripts/test runs: imports go down the layers (scripts/check-layers.ts) and no file in src/ is
// over 400 lines (scripts/check-file-size.ts). Fixtures are small trees written to a temporary folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { checkLayers, importSpecifiers } from '../../scripts/check-layers.ts';
import { checkFileSize, lineCount, MAX_LINES } from '../../scripts/check-file-size.ts';

const repo = join(import.meta.dirname, '..', '..');

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'tripline-layers-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** A tree whose every import goes down: the shape of src/. */
const passing = {
  'errors.ts': 'export class TriplineError extends Error {}\n',
  // A folder the table places lower than the rest of its unit: base may import it.
  'signals.ts': "import { runq } from './probes/counters/spec/runq.ts';\nexport const s = runq;\n",
  'probes/counters/spec/runq.ts':
    "import { TriplineError } from '../../../errors.ts';\nexport const runq = TriplineError;\n",
  'incident.ts': "import type { Tick } from './samples.ts';\nexport type Incident = { tick: Tick };\n",
  'samples.ts': 'export type Tick = number;\n',
  'probes/deep/evidence.ts': 'export interface StackWeight { weight: number }\n',
  'probes/libbpf.ts': "export * from './libbpf-map.ts';\nimport { ffi } from './libbpf-ffi.ts';\nvoid ffi;\n",
  'probes/libbpf-map.ts': "import { ffi } from './libbpf-ffi.ts';\nexport const m = ffi;\n",
  'probes/libbpf-ffi.ts': 'export const ffi = 1;\n',
  'probes/features.ts': "import { ffi } from './libbpf-ffi.ts';\nimport { m } from './libbpf.ts';\nvoid [ffi, m];\n",
  'bundle/types.ts': "export type { StackWeight } from '../probes/deep/evidence.ts';\n",
  'rules/plan.ts':
    "import { TriplineError } from '../errors.ts';\nimport type { Incident } from '../incident.ts';\nvoid TriplineError;\nexport type P = Incident;\n",
  'cli/main.ts':
    "import { ok } from '../engine.ts';\nconst { plan } = await import('../rules/plan.ts');\nimport 'node:fs';\nvoid [ok, plan];\n",
  'engine.ts': "import type { StackWeight } from './bundle/types.ts';\nexport const ok: StackWeight[] = [];\n",
};

test('a tree whose imports all go down the layers passes', () => {
  const root = tree(passing);
  try {
    assert.deepEqual(checkLayers(root, { allowances: [] }), []);
  } finally {
    rmSync(root, { recursive: true });
  }
});

test('each upward import is listed as file → import (layer A may not import layer B), type-only ones too', () => {
  const root = tree({
    ...passing,
    // probes reaching up to bundle for a type: the type belongs with the probes.
    'probes/deep/types.ts': "import type { StackWeight } from '../../bundle/types.ts';\nexport type S = StackWeight;\n",
    // Only the CLI imports the engine; a dynamic import counts.
    'rules/evaluate.ts': "export async function f() {\n  return (await import('../engine.ts')).ok;\n}\n",
    // The probe runtime's parts are private to it.
    'rules/cost.ts': "import { m } from '../probes/libbpf-map.ts';\nexport const c = m;\n",
    // A folder placed in base stays there: it may not import the rest of probes/.
    'probes/counters/spec/tcp.ts': "import { m } from '../../libbpf.ts';\nexport const tcp = m;\n",
    // Comments and strings that look like imports are not imports.
    'sampler/x.ts':
      "// import { ok } from '../engine.ts';\nexport const s = \"import { ok } from '../cli/main.ts'\";\n",
  });
  try {
    const at = (p: string): string => join(root, p);
    assert.deepEqual(checkLayers(root, { allowances: [] }).sort(), [
      `${at('probes/counters/spec/tcp.ts')} → ${at('probes/libbpf.ts')} (layer base may not import layer probes)`,
      `${at('probes/deep/types.ts')} → ${at('bundle/types.ts')} (layer probes may not import layer bundle)`,
      `${at('rules/cost.ts')} → ${at('probes/libbpf-map.ts')} (private: a part of the probe runtime: import probes/libbpf.ts)`,
      `${at('rules/evaluate.ts')} → ${at('engine.ts')} (layer rules may not import layer engine)`,
    ]);
  } finally {
    rmSync(root, { recursive: true });
  }
});

test('an allowance covers its one import; an allowance that matches nothing fails; an unknown unit fails', () => {
  const root = tree({
    ...passing,
    'rules/schema.ts': "import type { StackWeight } from '../bundle/types.ts';\nexport type C = StackWeight;\n",
    'newpart/x.ts': "import { TriplineError } from '../errors.ts';\nvoid TriplineError;\n",
  });
  try {
    const allowances = [
      { from: 'rules/schema.ts', to: 'bundle/types.ts', why: 'moves with the action schemas' },
      { from: 'rules/gone.ts', to: 'bundle/types.ts', why: 'already fixed' },
    ];
    assert.deepEqual(checkLayers(root, { allowances }), [
      `${join(root, 'newpart')}: in no layer: add "newpart" to LAYERS in scripts/check-layers.ts, where the data flow puts it`,
      'allowance rules/gone.ts → bundle/types.ts matches no upward import any more: remove it from ALLOWANCES',
    ]);
  } finally {
    rmSync(root, { recursive: true });
  }
});

test('the scanner reads imports and skips comments, strings, templates and regex literals', () => {
  const source = [
    "import type { A } from './a.ts';",
    'import {',
    '  b,',
    '  type C,',
    "} from '../b.ts';",
    "export * from './c.ts';",
    'export { d } from "./d.ts";',
    "import './e.ts';",
    '/* import { z } from "./comment.ts"; */',
    "const quoted = /['\"]/g; // import x from './after-regex.ts'",
    "const t = `${quoted.source ? `import y from './template.ts'` : ''}`;",
    "const m = await import('./f.ts');",
    "import { readFileSync } from 'node:fs';",
  ].join('\n');
  assert.deepEqual(importSpecifiers(source).sort(), ['../b.ts', './a.ts', './c.ts', './d.ts', './e.ts', './f.ts']);
});

test('the CLI exits non-zero and lists the offending import', () => {
  const root = tree({
    ...passing,
    'probes/deep/profile.ts':
      "import type { StackWeight } from '../../bundle/types.ts';\nexport type S = StackWeight;\n",
  });
  try {
    let failed: { status: number; stderr: string } | undefined;
    try {
      execFileSync(process.execPath, [join(repo, 'scripts', 'check-layers.ts'), root], { stdio: 'pipe' });
    } catch (err) {
      const e = err as { status: number; stderr: Buffer };
      failed = { status: e.status, stderr: e.stderr.toString() };
    }
    assert.ok(failed, 'the check passed a tree with an upward import');
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /profile\.ts → .*bundle\/types\.ts \(layer probes may not import layer bundle\)/);
  } finally {
    rmSync(root, { recursive: true });
  }
});

test('src/ passes the layer check with only its documented allowances, and no file in it is too long', () => {
  assert.deepEqual(checkLayers(join(repo, 'src')), []);
  assert.deepEqual(checkFileSize(join(repo, 'src')), []);
});

test('the file-size check names each file over the limit and each allowance no longer needed', () => {
  const root = tree({
    'long.ts': 'x;\n'.repeat(MAX_LINES + 1),
    'limit.ts': 'x;\n'.repeat(MAX_LINES),
    'allowed.ts': 'x;\n'.repeat(MAX_LINES + 5),
  });
  try {
    const rel = (p: string): string => relative(process.cwd(), join(root, p));
    const allowances = { [rel('allowed.ts')]: 'being split', [rel('short.ts')]: 'was split' };
    assert.deepEqual(checkFileSize(root, allowances), [
      `${rel('long.ts')}: ${MAX_LINES + 1} lines (at most ${MAX_LINES}): split it by responsibility`,
      `${rel('short.ts')}: no longer over ${MAX_LINES} lines: remove its allowance from scripts/check-file-size.ts`,
    ]);
    assert.equal(lineCount('a\nb\n'), 2);
    assert.equal(lineCount('a\nb'), 2);
    assert.equal(lineCount(''), 0);
  } finally {
    rmSync(root, { recursive: true });
  }
});

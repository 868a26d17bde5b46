/**
 * Fails when an import in src/ goes up the layers, so each part depends only on the parts below it in the data
 * flow (probes → samples → rules → incidents → capture → bundle → actions) and nothing imports the entry points.
 *   scripts/node scripts/check-layers.ts [dir]      (dir defaults to src)
 *
 * A file's unit is its first path segment under the root ("rules" for src/rules/parse/schema.ts, "errors" for
 * src/errors.ts), unless a folder listed in the table holds it ("probes/counters/spec"): a pure part of a folder can
 * sit lower than the rest. A unit may import its own layer and the layers below it, never a layer above. Every unit
 * must be in the table: a new top-level folder or file gets a layer on purpose, not by default.
 *
 * Type-only imports count (`import type`, `export type … from`): they erase at run time, so the cycle check
 * (scripts/check-cycles.ts) ignores them, but a type is part of a module's interface and says which part owns the
 * concept. When a lower layer needs a type, the type moves down (e.g. StackWeight to probes/deep/evidence.ts, with
 * bundle/types.ts re-exporting it) instead of the lower layer reaching up.
 *
 * Static imports and re-exports, side-effect imports and `import('…')` with a literal specifier are read; imports of
 * packages and node: builtins are not layered. Comments and ordinary string literals are skipped.
 *
 * Also checked: private modules (the parts of the probe runtime behind src/probes/libbpf.ts) and allowances that no
 * longer match an import (remove them).
 */
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * One layer of the table: its name (used in messages) and its units: a top-level file or folder of the root (ending
 * in `*`: every name with that prefix), or a deeper folder (with a `/`), which takes its files out of their unit.
 */
export interface Layer {
  readonly name: string;
  readonly units: readonly string[];
}

/**
 * The layers of src/, from the bottom. Derived from the data flow and from the imports as they are:
 * probes read symbols; the sampler reads the counter families; metrics export the sampler's ticks; rules evaluate
 * samples into incidents; bundle is the on-disk format capture writes (from the deep probes' results); actions
 * consume incidents, rules' action specs and bundle refs; the pipeline carries an incident through capture and
 * actions; the server exposes rules and the incident log; the demo's tooling and the engine sit under the CLI, and
 * nothing but the CLI imports the engine (src/engine.ts and any src/engine*).
 */
export const LAYERS: readonly Layer[] = [
  // Plain data and process-wide plumbing every part may use, and the counter families' pure descriptors (no libbpf)
  // from which the signal catalog and the config's `counters:` section are derived.
  {
    name: 'base',
    units: [
      'errors',
      'paths',
      'log',
      'config',
      'signals',
      'samples',
      'incident',
      'atomic-file',
      'duration',
      'redis-client',
      'quantile',
      'incident-schema',
      'pod-meta',
      'signal-read',
      'probes/counters/spec',
      // The export's config schemas (pure zod), which src/config.ts includes.
      'export/config',
      'alertmanager/schema',
      'capture/schema',
      'actions/slack/settings',
    ],
  },
  { name: 'symbols', units: ['symbols'] },
  { name: 'probes', units: ['probes'] },
  { name: 'sampler', units: ['sampler'] },
  { name: 'metrics', units: ['metrics'] },
  { name: 'rules', units: ['rules'] },
  { name: 'bundle', units: ['bundle'] },
  // The incident log records incidents with their bundle refs; the server and the engine read it.
  { name: 'capture', units: ['capture', 'incident-log'] },
  // The Kubernetes client and the node's pod cache: used by the scale action and the network side.
  { name: 'actions', units: ['actions', 'kube'] },
  // Carries an incident: capture → bundle → actions, per-key ordering, the incident log.
  { name: 'pipeline', units: ['pipeline'] },
  // What follows incidents out of the engine besides their actions: incident metrics, the OTLP log export.
  { name: 'export', units: ['export'] },
  { name: 'server', units: ['server'] },
  // Alertmanager both ways (network side): its webhook as capture requests, tripline's incidents as its alerts.
  { name: 'alertmanager', units: ['alertmanager'] },
  // The privilege split: the channel between the probe side and the network side, and the network side's process.
  { name: 'split', units: ['split'] },
  // Demo workloads and cgroups, for `tripline demo` only.
  { name: 'demo', units: ['demo'] },
  { name: 'engine', units: ['engine*'] },
  { name: 'cli', units: ['cli'] },
];

/** A module only some files may import: the rest of src/ goes through a public module instead. */
export interface PrivateModule {
  /** Path under the root, e.g. probes/libbpf-map.ts. */
  readonly module: RegExp;
  readonly importers: RegExp;
  readonly why: string;
}

/** Modules private to a part of src/. */
export const PRIVATE: readonly PrivateModule[] = [
  {
    module: /^probes\/libbpf-ffi\.ts$/,
    importers: /^probes\/(libbpf(-[a-z]+)?|features)\.ts$/,
    why: 'the koffi binding: only the probe runtime (probes/libbpf*.ts) and feature detection call libbpf directly',
  },
  {
    module: /^probes\/libbpf-(?!ffi\.ts$)[a-z]+\.ts$/,
    importers: /^probes\/libbpf(-[a-z]+)?\.ts$/,
    why: 'a part of the probe runtime: import probes/libbpf.ts',
  },
];

/** An upward import tolerated for now, with the reason and what removes it. Exact file pair, paths under the root. */
export interface Allowance {
  readonly from: string;
  readonly to: string;
  readonly why: string;
}

/** Temporary allowances; each one is a known debt. An allowance that matches no import fails the check. */
export const ALLOWANCES: readonly Allowance[] = [];

/** The relative import specifiers of a TypeScript source, with comments and other string literals skipped. */
export function importSpecifiers(source: string): string[] {
  const code = blankCommentsAndStrings(source);
  const out: string[] = [];
  const stat = /\b(?:import|export)\s+(?:type\s+)?(?:[\w$*{},\s]+?\s*from\s*)?(['"])([^'"\n]+)\1/g;
  const dyn = /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g;
  for (const re of [stat, dyn]) for (const m of code.matchAll(re)) if (m[2].startsWith('.')) out.push(m[2]);
  return out;
}

/**
 * Replaces comments with spaces and the contents of string, template and regex literals with spaces, except the
 * string right after `from`, `import` or `import(` (a module specifier). Offsets and line breaks are kept.
 */
function blankCommentsAndStrings(src: string): string {
  const out = src.split('');
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  const templateDepth: number[] = []; // open `${` of template literals, with the braces opened inside each
  let i = 0;
  let last = ''; // the code before the current position, trimmed, last few characters
  const remember = (s: string): void => {
    last = (last + s).slice(-16);
  };
  while (i < src.length) {
    const c = src[i];
    const next = src[i + 1];
    if (c === '/' && next === '/') {
      const end = src.indexOf('\n', i);
      const stop = end < 0 ? src.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? src.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== c && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
      if (!/(?:\bfrom|\bimport|\bimport\s*\()\s*$/.test(last)) blank(i + 1, j);
      remember('"s"');
      i = j + 1;
    } else if (c === '`' || (c === '}' && templateDepth.length && templateDepth[templateDepth.length - 1] === 0)) {
      // Start of a template literal, or back into one after `${…}`: skip to its end or to the next `${`.
      if (c === '}') templateDepth.pop();
      let j = i + 1;
      while (j < src.length && src[j] !== '`' && !(src[j] === '$' && src[j + 1] === '{')) j += src[j] === '\\' ? 2 : 1;
      blank(i + 1, j);
      if (src[j] === '$') {
        templateDepth.push(0);
        i = j + 2;
      } else i = j + 1;
      remember('`t`');
    } else if (c === '/' && (last === '' || /[(,=:[!&|?{};+\-*%<>~^]$|\breturn$|\btypeof$/.test(last))) {
      // A regex literal (a division follows a value, never an operator).
      let j = i + 1;
      let inClass = false;
      while (j < src.length && src[j] !== '\n' && (inClass || src[j] !== '/')) {
        if (src[j] === '[') inClass = true;
        else if (src[j] === ']') inClass = false;
        j += src[j] === '\\' ? 2 : 1;
      }
      blank(i + 1, j);
      remember('/r/');
      i = j + 1;
    } else {
      if (templateDepth.length && c === '{') templateDepth[templateDepth.length - 1]++;
      if (templateDepth.length && c === '}') templateDepth[templateDepth.length - 1]--;
      if (!/\s/.test(c)) remember(c);
      else if (!last.endsWith(' ')) remember(' ');
      i++;
    }
  }
  return out.join('');
}

function unitOf(path: string, layers: readonly Layer[]): string {
  const folders = layers.flatMap((l) => l.units.filter((u) => u.includes('/')));
  const folder = folders.filter((u) => path.startsWith(`${u}/`)).sort((a, b) => b.length - a.length)[0];
  if (folder) return folder;
  const first = path.split('/')[0];
  return first.endsWith('.ts') ? first.slice(0, -3) : first;
}

function layerOf(unit: string, layers: readonly Layer[]): number {
  return layers.findIndex((l) => l.units.some((u) => (u.endsWith('*') ? unit.startsWith(u.slice(0, -1)) : unit === u)));
}

/** Options of checkLayers; the defaults are src/'s table. */
export interface CheckOptions {
  readonly layers?: readonly Layer[];
  readonly privateModules?: readonly PrivateModule[];
  readonly allowances?: readonly Allowance[];
}

/** Every problem under root, one line each: `file → import (layer A may not import layer B)` and the like. */
export function checkLayers(root: string, opts: CheckOptions = {}): string[] {
  const layers = opts.layers ?? LAYERS;
  const privateModules = opts.privateModules ?? PRIVATE;
  const allowances = opts.allowances ?? ALLOWANCES;
  const rootDir = resolve(root);
  const label = (p: string): string => {
    const rel = relative(process.cwd(), join(rootDir, p));
    return rel.startsWith('..') ? join(rootDir, p) : rel;
  };
  const files: string[] = [];
  (function walk(dir: string): void {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(relative(rootDir, p).split(sep).join('/'));
    }
  })(rootDir);

  const problems: string[] = [];
  const used = new Set<Allowance>();
  const unplaced = new Set<string>();
  for (const file of files) {
    const fromUnit = unitOf(file, layers);
    const fromLayer = layerOf(fromUnit, layers);
    if (fromLayer < 0) unplaced.add(fromUnit);
    for (const spec of importSpecifiers(readFileSync(join(rootDir, file), 'utf8'))) {
      const target = relative(rootDir, resolve(rootDir, dirname(file), spec))
        .split(sep)
        .join('/');
      if (target.startsWith('..')) continue; // outside the checked tree
      const arrow = `${label(file)} → ${label(target)}`;
      for (const p of privateModules)
        if (p.module.test(target) && !p.importers.test(file)) problems.push(`${arrow} (private: ${p.why})`);
      const toUnit = unitOf(target, layers);
      const toLayer = layerOf(toUnit, layers);
      if (toLayer < 0) unplaced.add(toUnit);
      if (fromLayer < 0 || toLayer <= fromLayer) continue;
      const allowed = allowances.find((a) => a.from === file && a.to === target);
      if (allowed) used.add(allowed);
      else problems.push(`${arrow} (layer ${layers[fromLayer].name} may not import layer ${layers[toLayer].name})`);
    }
  }
  for (const u of unplaced)
    problems.push(
      `${label(u)}: in no layer: add "${u}" to LAYERS in scripts/check-layers.ts, where the data flow puts it`,
    );
  for (const a of allowances)
    if (!used.has(a))
      problems.push(`allowance ${a.from} → ${a.to} matches no upward import any more: remove it from ALLOWANCES`);
  return problems;
}

const isMain = process.argv[1] !== undefined && import.meta.filename === realpathSync(process.argv[1]);
if (isMain) {
  const root = process.argv[2] ?? 'src';
  const problems = checkLayers(root);
  if (problems.length) {
    console.error(`imports that go up the layers (table and rules: scripts/check-layers.ts):\n${problems.join('\n')}`);
    process.exit(1);
  }
  const allowed = ALLOWANCES.length ? `; ${ALLOWANCES.length} temporary allowance(s)` : '';
  console.log(`imports in ${root} go down the layers${allowed}`);
}

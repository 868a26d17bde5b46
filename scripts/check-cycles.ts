// Fails when the relative imports under the given folder form a cycle (the design keeps modules acyclic).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve, relative } from 'node:path';

const rootDir = resolve(process.argv[2] ?? 'src');
const files: string[] = [];
(function walk(dir: string): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) files.push(p);
  }
})(rootDir);

const importRe = /^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+['"](\.[^'"]+)['"]/gm;
const graph = new Map<string, string[]>();
for (const f of files) {
  const src = readFileSync(f, 'utf8');
  const deps: string[] = [];
  for (const m of src.matchAll(importRe)) deps.push(resolve(dirname(f), m[1]));
  graph.set(f, deps);
}

const state = new Map<string, 'visiting' | 'done'>();
const stack: string[] = [];
let cycle: string[] | null = null;
function visit(f: string): void {
  if (cycle) return;
  const s = state.get(f);
  if (s === 'done') return;
  if (s === 'visiting') {
    cycle = stack.slice(stack.indexOf(f)).concat(f);
    return;
  }
  state.set(f, 'visiting');
  stack.push(f);
  for (const d of graph.get(f) ?? []) if (graph.has(d)) visit(d);
  stack.pop();
  state.set(f, 'done');
}
for (const f of files) visit(f);
if (cycle) {
  console.error('import cycle: ' + (cycle as string[]).map((f) => relative(process.cwd(), f)).join(' -> '));
  process.exit(1);
}
console.log(`no import cycles in ${files.length} files`);

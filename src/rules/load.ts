/**
 * Loading a rule set from files and folders: every `*.yaml`/`*.yml` file (`*.test.yaml` are RuleTests),
 * each parsed and validated, then the checks across files (duplicate names, a test's rule files).
 * All problems are collected; a set with any problem is rejected whole, so a typo never leaves the
 * engine half-configured (hot reload keeps the running set).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { TriplineError } from '../errors.ts';
import type { RuleSet, SourceRef } from './types.ts';
import type { ActionCatalog, ProbeCatalog } from './parse/schema.ts';
import { MAX_FILE_BYTES, parseRuleFile, type LoadedRuleTest, type ParsedFile } from './parse/parse-file.ts';
import { deepFreeze } from './compile/compile.ts';

export type { LoadedRuleTest } from './parse/parse-file.ts';

/** Files one load may read (folders are walked recursively). */
export const MAX_FILES = 10_000;

/** The outcome of loading: `ruleSet` only when `errors` is empty. */
export interface RuleLoad {
  readonly ruleSet?: RuleSet;
  readonly tests: readonly LoadedRuleTest[];
  readonly files: readonly ParsedFile[];
  readonly errors: readonly TriplineError[];
}

const isRuleFile = (name: string): boolean => /\.ya?ml$/.test(name);

/** The rule files under `paths` (files as given, folders walked, sorted), with errors for the rest. */
export function listRuleFiles(paths: readonly string[], errors: TriplineError[]): string[] {
  const files: string[] = [];
  const walk = (dir: string, depth: number): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      } // a dangling symlink is not a rule file
      if (st.isDirectory()) {
        if (depth < 8 && !name.startsWith('.')) walk(p, depth + 1);
      } else if (st.isFile() && isRuleFile(name) && files.length < MAX_FILES) files.push(p);
    }
  };
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      errors.push(
        new TriplineError('RULE_ERR_FILE', `${p}:1:1: no such file or folder`, {
          hint: 'pass a rule file or a folder of *.yaml files',
        }),
      );
      continue;
    }
    if (st.isDirectory()) walk(p, 0);
    else if (isRuleFile(p)) files.push(p);
    else
      errors.push(
        new TriplineError('RULE_ERR_FILE', `${p}:1:1: not a .yaml or .yml file`, {
          hint: 'rule files end in .yaml or .yml',
        }),
      );
  }
  return [...new Set(files)];
}

/** Reads one file within the size cap (the cap is checked before reading a byte). */
function readRuleFile(file: string, opts: LoadOptions): ParsedFile {
  const size = statSync(file).size;
  const { actions, probes } = opts;
  // A 50 MB file is rejected from its size alone, never read into memory.
  if (size > MAX_FILE_BYTES) return parseRuleFile(file, '', { actions, probes, size });
  return parseRuleFile(file, readFileSync(file), { actions, probes });
}

/** Options of a load. */
export interface LoadOptions {
  /**
   * The action types rules may use, each with the schema of its spec: callers pass the action registry
   * (`{ actions: ACTIONS }` from src/actions/registry.ts), which the rules layer does not import.
   */
  readonly actions: ActionCatalog;
  /**
   * The deep probes rules may name, with their option schemas: callers pass the deep probe catalog
   * (src/probes/deep/index.ts), so a bad probe or option fails at load with file:line. @defaultValue shape only
   */
  readonly probes?: ProbeCatalog;
  /**
   * Read `*.test.yaml` files found in folders (files named explicitly are always read). The engine
   * passes false so a broken unit test never blocks a reload; `tripline check` and `test` keep it.
   * @defaultValue true
   */
  readonly tests?: boolean;
}

const isTestFile = (p: string): boolean => /\.test\.ya?ml$/.test(p);

/** Loads and checks everything under `paths`. Never throws for bad input. */
export function loadRules(paths: readonly string[], opts: LoadOptions): RuleLoad {
  const errors: TriplineError[] = [];
  const named = new Set(paths);
  const listed = listRuleFiles(paths, errors).filter((f) => opts.tests !== false || !isTestFile(f) || named.has(f));
  const files = listed.map((f) => {
    try {
      return readRuleFile(f, opts);
    } catch (cause) {
      const e = new TriplineError('RULE_ERR_FILE', `${f}:1:1: cannot read: ${(cause as Error).message}`, {
        hint: 'check the file permissions',
        cause,
      });
      return { file: f, rules: [], silences: [], inhibitions: [], tests: [], errors: [e] } satisfies ParsedFile;
    }
  });
  for (const f of files) errors.push(...f.errors);
  const seen = {
    Rule: new Map<string, SourceRef>(),
    Silence: new Map<string, SourceRef>(),
    Inhibition: new Map<string, SourceRef>(),
    RuleTest: new Map<string, SourceRef>(),
  };
  const dup = (kind: keyof typeof seen, name: string, src: SourceRef): void => {
    const first = seen[kind].get(name);
    if (first)
      errors.push(
        new TriplineError(
          'RULE_ERR_DUPLICATE',
          `${src.file}:${src.line}:${src.column}: metadata.name: duplicate ${kind} name ${JSON.stringify(name)}`,
          {
            hint: `first defined at ${first.file}:${first.line}:${first.column}; names are unique across the rule set`,
          },
        ),
      );
    else seen[kind].set(name, src);
  };
  for (const f of files) {
    for (const r of f.rules) dup('Rule', r.name, r.source);
    for (const s of f.silences) dup('Silence', s.id, s.source!);
    for (const h of f.inhibitions) dup('Inhibition', h.name, h.source!);
    for (const t of f.tests) dup('RuleTest', t.name, t.source);
  }
  const tests = files.flatMap((f) => f.tests);
  for (const t of tests) checkTestRules(t, seen.Rule, opts.actions, errors);
  if (errors.length) return { tests: [], files, errors };
  const ruleSet: RuleSet = deepFreeze({
    rules: files.flatMap((f) => f.rules),
    silences: files.flatMap((f) => f.silences),
    inhibitions: files.flatMap((f) => f.inhibitions),
  });
  return { ruleSet, tests: deepFreeze(tests), files, errors: [] };
}

/** The absolute paths of a test's `rule_files` (they are written relative to the test file). */
export function ruleFilesOf(t: LoadedRuleTest): string[] {
  return t.spec.rule_files.map((rf) => resolve(dirname(t.source.file), rf));
}

/** A test's rule files exist, and the rules its expectations name are defined in them. */
function checkTestRules(
  t: LoadedRuleTest,
  loaded: Map<string, SourceRef>,
  actions: ActionCatalog,
  errors: TriplineError[],
): void {
  const dir = dirname(t.source.file);
  const where = (path: string): string => {
    const p = t.positions[path] ?? { line: t.source.line, col: t.source.column };
    return `${t.source.file}:${p.line}:${p.col}: ${path}`;
  };
  const names = new Set<string>();
  const paths = ruleFilesOf(t);
  t.spec.rule_files.forEach((rf, i) => {
    const p = paths[i];
    if (!existsSync(p)) {
      errors.push(
        new TriplineError(
          'RULE_ERR_TEST',
          `${where(`spec.rule_files[${i}]`)}: ${rf} does not exist (relative to ${dir})`,
          { hint: 'rule_files are paths relative to the test file' },
        ),
      );
      return;
    }
    let found = false;
    for (const [name, src] of loaded)
      if (resolve(src.file) === p) {
        names.add(name);
        found = true;
      }
    if (!found) {
      const other = readRuleFile(p, { actions });
      if (other.errors.length)
        errors.push(
          new TriplineError('RULE_ERR_TEST', `${where(`spec.rule_files[${i}]`)}: ${rf} is invalid`, {
            hint: `run tripline check ${p}`,
          }),
        );
      for (const r of other.rules) names.add(r.name);
    }
  });
  t.spec.expect.forEach((e, i) =>
    e.incidents.forEach((inc, j) => {
      if (names.size && !names.has(inc.rule))
        errors.push(
          new TriplineError(
            'RULE_ERR_TEST',
            `${where(`spec.expect[${i}].incidents[${j}]`)}.rule: rule ${JSON.stringify(inc.rule)} is not in the test's rule_files`,
            { hint: `rules there: ${[...names].join(', ')}` },
          ),
        );
    }),
  );
}

/** Loads a rule set or throws the first error (all of them in `cause`, an AggregateError). */
export function loadRuleSet(
  paths: readonly string[],
  opts: LoadOptions,
): { ruleSet: RuleSet; tests: readonly LoadedRuleTest[] } {
  const r = loadRules(paths, opts);
  if (!r.ruleSet) {
    const first = r.errors[0];
    throw new TriplineError(
      first.code,
      `${first.message}${r.errors.length > 1 ? ` (and ${r.errors.length - 1} more errors)` : ''}`,
      { hint: first.hint, cause: new AggregateError(r.errors, 'rule set rejected') },
    );
  }
  return { ruleSet: r.ruleSet, tests: r.tests };
}

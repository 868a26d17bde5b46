/**
 * `tripline check [PATH...]`: validates rule files and folders (default `rules/`) without running
 * anything. Exit 0 when the set is valid (one summary line per file on stdout), 1 when it is not (every
 * error on stderr as `file:line:col: message`), 2 on usage errors.
 */
import { loadRules } from '../rules/load.ts';
import { deepProbes } from '../probes/deep/index.ts';
import type { ParsedFile } from '../rules/parse/parse-file.ts';
import { ACTIONS } from '../actions/registry.ts';

const USAGE = 'usage: tripline check [PATH...]   (files or folders of *.yaml rules; default rules/)\n';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** One line per file: what it defines. */
function summary(f: ParsedFile): string {
  const parts: string[] = [];
  if (f.rules.length) parts.push(`${plural(f.rules.length, 'rule')} (${f.rules.map((r) => r.name).join(', ')})`);
  if (f.silences.length) parts.push(plural(f.silences.length, 'silence'));
  if (f.inhibitions.length) parts.push(plural(f.inhibitions.length, 'inhibition'));
  if (f.tests.length) parts.push(`${plural(f.tests.length, 'test')} (${f.tests.map((t) => t.name).join(', ')})`);
  return `${f.file}: ok, ${parts.join(', ') || 'no documents'}\n`;
}

/** Runs the command; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const paths: string[] = [];
  for (const a of argv) {
    if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      return 0;
    }
    if (a === '--') continue;
    if (a.startsWith('-')) {
      process.stderr.write(`tripline check: unknown option ${JSON.stringify(a)}\n${USAGE}`);
      return 2;
    }
    paths.push(a);
  }
  const result = loadRules(paths.length ? paths : ['rules'], { actions: ACTIONS, probes: deepProbes });
  if (result.errors.length) {
    for (const e of result.errors)
      process.stderr.write(`${e.message} [${e.code}]${e.hint ? `\n  hint: ${e.hint}` : ''}\n`);
    process.stderr.write(`tripline check: ${plural(result.errors.length, 'error')}; rule set rejected\n`);
    return 1;
  }
  if (result.files.length === 0) {
    process.stderr.write('tripline check: no *.yaml files found\n');
    return 1;
  }
  for (const f of result.files) process.stdout.write(summary(f));
  return 0;
}

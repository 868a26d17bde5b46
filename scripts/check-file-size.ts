/**
 * Fails when a TypeScript file under the given folder is over 400 lines (as formatted by prettier), naming it: a file
 * that long holds more than one responsibility and is split by responsibility.
 *   scripts/node scripts/check-file-size.ts [dir]      (dir defaults to src)
 */
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** The most lines a file may have. */
export const MAX_LINES = 400;

/** Files over the limit for now, with the reason; an allowance for a file back under the limit fails the check. */
export const ALLOWANCES: Readonly<Record<string, string>> = {};

/** Lines of a text as `wc -l` counts them (a last line without a newline counts too). */
export function lineCount(text: string): number {
  if (text === '') return 0;
  const n = text.split('\n').length;
  return text.endsWith('\n') ? n - 1 : n;
}

/** One line per problem: each file over the limit, and each allowance no longer needed. Paths relative to cwd. */
export function checkFileSize(dir: string, allowances: Readonly<Record<string, string>> = ALLOWANCES): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  (function walk(d: string): void {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) {
        const file = relative(process.cwd(), p);
        const lines = lineCount(readFileSync(p, 'utf8'));
        if (lines <= MAX_LINES) continue;
        if (file in allowances) seen.add(file);
        else problems.push(`${file}: ${lines} lines (at most ${MAX_LINES}): split it by responsibility`);
      }
    }
  })(dir);
  const under = relative(process.cwd(), dir) + '/';
  for (const file of Object.keys(allowances))
    if (!seen.has(file) && file.startsWith(under))
      problems.push(`${file}: no longer over ${MAX_LINES} lines: remove its allowance from scripts/check-file-size.ts`);
  return problems;
}

const isMain = process.argv[1] !== undefined && import.meta.filename === realpathSync(process.argv[1]);
if (isMain) {
  const dir = process.argv[2] ?? 'src';
  const problems = checkFileSize(dir);
  if (problems.length) {
    console.error(problems.join('\n'));
    process.exit(1);
  }
  console.log(`no file in ${dir} over ${MAX_LINES} lines`);
}

/** `tripline test [PATH...]`: runs the rule unit tests (kind RuleTest) under the paths (default `rules`). Exit 0 all pass, 1 otherwise. */
import { runRuleTests } from '../rules/test/runner.ts';
import { deepProbes } from '../probes/deep/index.ts';
import { ACTIONS } from '../actions/registry.ts';

const USAGE = 'usage: tripline test [PATH...]   (files or folders; default: rules)\n';

/** Runs the tests; failures and load errors go to stderr, one per line. */
export async function main(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const bad = argv.find((a) => a.startsWith('-'));
  if (bad) {
    process.stderr.write(`tripline test: unknown option ${bad}\n${USAGE}`);
    return 2;
  }
  const paths = argv.length ? argv : ['rules'];
  const { results, errors } = runRuleTests(paths, { actions: ACTIONS, probes: deepProbes });
  if (errors.length) {
    for (const e of errors) process.stderr.write(`${e}\n`);
    process.stderr.write(`tripline test: the rule set has ${errors.length} error(s); nothing was run\n`);
    return 1;
  }
  if (results.length === 0) {
    process.stderr.write(`tripline test: no RuleTest documents under ${paths.join(' ')}\n`);
    return 1;
  }
  let failed = 0;
  for (const r of results) {
    if (r.failures.length === 0) {
      process.stdout.write(`ok    ${r.name} (${r.file})\n`);
      continue;
    }
    failed++;
    process.stdout.write(`FAIL  ${r.name} (${r.file})\n`);
    for (const f of r.failures) process.stderr.write(`${f}\n`);
  }
  process.stdout.write(`${results.length} test(s), ${failed} failed\n`);
  return failed ? 1 : 0;
}

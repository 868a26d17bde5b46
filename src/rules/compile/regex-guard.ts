/**
 * Label regexes in linear time. Every regex that reaches tripline from a rule, the config or the API (label
 * matchers of conditions, silences and inhibitions) is compiled by RE2 (the `re2js` port: an automaton, no
 * backtracking), so matching takes time linear in the value whatever the pattern: `(.?){30}.{30}`, `(a+)+$`
 * or `(a|a)*$` against a 10 kB value finish in milliseconds instead of freezing the engine. The price is
 * RE2's syntax: no backreferences and no lookaround (refused at load with the reason). A pattern must match
 * the whole value, as in Prometheus.
 */
import { RE2JS } from 're2js';
import { TriplineError } from '../../errors.ts';

/** Longest pattern accepted (RE2 compiles in time and memory linear in the pattern; this keeps both small). */
export const MAX_REGEX_LENGTH = 256;
/** Longest literal label value a rule or silence may name (label values of series are not limited). */
export const MAX_LABEL_VALUE_LENGTH = 256;

function reject(pattern: string, why: string, hint: string): never {
  throw new TriplineError('RULE_ERR_REGEX', `regex ${JSON.stringify(pattern)} ${why}`, { hint });
}

/** Compiles `pattern` anchored, or throws RULE_ERR_REGEX with the reason and the fix. */
function compile(pattern: string): RE2JS {
  if (pattern.length > MAX_REGEX_LENGTH)
    reject(
      pattern.slice(0, 40) + '…',
      `is longer than ${MAX_REGEX_LENGTH} characters`,
      'use an `in:` list or a shorter pattern',
    );
  // RE2 refuses these too, but with a terse message: name them in words.
  if (/\\[1-9]|\\k</.test(pattern))
    reject(pattern, 'uses a backreference', 'backreferences are not supported (label regexes run in linear time)');
  if (/\(\?<?[=!]/.test(pattern))
    reject(pattern, 'uses lookaround', 'lookahead and lookbehind are not supported (label regexes run in linear time)');
  try {
    return RE2JS.compile(pattern);
  } catch (e) {
    return reject(
      pattern,
      `is invalid: ${(e as Error).message}`,
      'fix the pattern (RE2 syntax, as in Prometheus: https://github.com/google/re2/wiki/Syntax)',
    );
  }
}

/** Throws RULE_ERR_REGEX unless `pattern` is a valid label regex. */
export function checkLabelRegex(pattern: string): void {
  compile(pattern);
}

/** A checked label regex as a predicate over label values: the whole value must match; linear time in the value. */
export function compileLabelRegex(pattern: string): (value: string) => boolean {
  const re = compile(pattern);
  return (value) => re.testExact(value);
}

/**
 * Bounded label regexes. JavaScript's backtracking engine can take exponential time on patterns like
 * `(a+)+` or `(a|a)*`, so a label regex is accepted only when it cannot backtrack badly: short, no
 * backreferences or lookaround, no quantified group that itself repeats or holds overlapping
 * alternatives, few unbounded quantifiers. It is anchored at both ends and only ever runs against label
 * values of bounded length, which keeps the polynomial cases small too.
 */
import { TriplineError } from '../../errors.ts';

/** Longest pattern accepted. */
export const MAX_REGEX_LENGTH = 256;
/** Label values longer than this never match a regex matcher (they are not run through it at all). */
export const MAX_LABEL_VALUE_LENGTH = 256;
/** Unbounded quantifiers (`*`, `+`, `{n,}`) allowed in one pattern; three keeps `.*a.*b.*` at n³/6 steps. */
export const MAX_UNBOUNDED = 3;

interface Group {
  start: number;
  unbounded: boolean;
  alternation: boolean;
  literalAlts: string[] | null;
  alt: string;
}

function reject(pattern: string, why: string, hint: string): never {
  throw new TriplineError('RULE_ERR_REGEX', `regex ${JSON.stringify(pattern)} ${why}`, { hint });
}

/** Throws RULE_ERR_REGEX unless `pattern` is a bounded, safe label regex. */
export function checkLabelRegex(pattern: string): void {
  if (pattern.length > MAX_REGEX_LENGTH)
    reject(
      pattern.slice(0, 40) + '…',
      `is longer than ${MAX_REGEX_LENGTH} characters`,
      'use an `in:` list or a shorter pattern',
    );
  try {
    new RegExp(pattern, 'u');
  } catch (e) {
    reject(
      pattern,
      `is invalid: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`,
      'fix the pattern (JavaScript syntax, unicode mode)',
    );
  }
  const stack: Group[] = [{ start: 0, unbounded: false, alternation: false, literalAlts: [], alt: '' }];
  let unbounded = 0;
  let inClass = false;
  let lastClosed: Group | null = null;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const top = stack[stack.length - 1];
    let closed: Group | null = null;
    if (c === '\\') {
      const n = pattern[i + 1] ?? '';
      if (/[1-9]/.test(n) || n === 'k')
        reject(pattern, 'uses a backreference', 'backreferences are not allowed in label regexes');
      if (!inClass) {
        top.alt += '\\' + n;
        if (!/[\w.\-/:@]/.test(n) || /[dDwWsSbB]/.test(n)) top.literalAlts = null;
      }
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
      top.literalAlts = null;
    } else if (c === '(') {
      if (pattern[i + 1] === '?') {
        const look = pattern.slice(i + 2, i + 4);
        if (look[0] === '=' || look[0] === '!' || look === '<=' || look === '<!')
          reject(pattern, 'uses lookaround', 'lookahead and lookbehind are not allowed in label regexes');
      }
      top.literalAlts = null;
      stack.push({ start: i, unbounded: false, alternation: false, literalAlts: [], alt: '' });
      if (pattern[i + 1] === '?' && pattern[i + 2] === ':') i += 2;
      else if (pattern[i + 1] === '?' && pattern[i + 2] === '<') i = pattern.indexOf('>', i);
    } else if (c === ')') {
      closed = stack.pop()!;
      closed.literalAlts?.push(closed.alt);
      const parent = stack[stack.length - 1];
      if (closed.unbounded) parent.unbounded = true;
    } else if (c === '|') {
      top.alternation = true;
      top.literalAlts?.push(top.alt);
      top.alt = '';
    } else if (c === '*' || c === '+' || c === '?' || c === '{') {
      let isUnbounded = c === '*' || c === '+';
      if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
        if (!m) {
          top.alt += c;
          continue;
        }
        isUnbounded = m[2] !== undefined && m[3] === '';
        i += m[0].length - 1;
      }
      top.literalAlts = null;
      if (isUnbounded) {
        unbounded++;
        top.unbounded = true;
      }
      const g = lastClosed;
      if ((g && isUnbounded) || (g && c === '{')) {
        if (g.unbounded)
          reject(
            pattern,
            'repeats a group that already repeats (nested quantifier)',
            'write the group without the inner or the outer quantifier, e.g. `a+` instead of `(a+)+`',
          );
        if (g.alternation && !distinctLiteralAlts(g.literalAlts))
          reject(
            pattern,
            'repeats a group whose alternatives can overlap',
            'repeat only alternatives that are plain words starting with different characters, or use `in:`',
          );
      }
    } else {
      top.alt += c;
      if (c === '.') top.literalAlts = null; // `.` overlaps every alternative
    }
    lastClosed = closed;
  }
  if (unbounded > MAX_UNBOUNDED)
    reject(
      pattern,
      `has ${unbounded} unbounded quantifiers (at most ${MAX_UNBOUNDED})`,
      'use fewer `*`/`+`, or an `in:` list',
    );
}

/** True when every alternative is a plain literal and no two start with the same character. */
function distinctLiteralAlts(alts: string[] | null): boolean {
  if (!alts) return false;
  const firsts = new Set(alts.map((a) => a[0] ?? ''));
  return firsts.size === alts.length && !firsts.has('');
}

/** A checked, fully anchored label regex as a predicate over label values. */
export function compileLabelRegex(pattern: string): (value: string) => boolean {
  checkLabelRegex(pattern);
  const re = new RegExp(`^(?:${pattern})$`, 'u');
  return (value) => value.length <= MAX_LABEL_VALUE_LENGTH && re.test(value);
}

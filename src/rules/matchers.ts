/**
 * Label matching: a rule's, a condition's, a silence's or an inhibition's `Matchers` compiled once into
 * one predicate. Regexes are anchored (the whole value must match, as label matchers usually are);
 * their patterns were bounded by the loader's regex guard, so compiling them here is safe.
 */
import type { Labels } from '../samples.ts';
import type { LabelMatcher, Matchers } from './types.ts';
import { TriplineError } from '../errors.ts';

/** A compiled label predicate. */
export type LabelPredicate = (labels: Labels) => boolean;

const cache = new Map<string, RegExp>();
function anchored(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    try { re = new RegExp(`^(?:${pattern})$`, 'u'); } catch (cause) {
      throw new TriplineError('RULE_ERR_REGEX', `invalid label regex ${JSON.stringify(pattern)}: ${(cause as Error).message}`, { hint: 'fix the pattern (it must compile as a JavaScript regular expression with the u flag)', cause });
    }
    cache.set(pattern, re);
  }
  return re;
}

/** Compiles one matcher; a missing label reads as the empty string. */
export function compileMatcher(m: LabelMatcher): (value: string) => boolean {
  switch (m.op) {
    case 'equals': { const v = m.value; return (x) => x === v; }
    case 'not': { const v = m.value; return (x) => x !== v; }
    case 'regex': { const re = anchored(m.pattern); return (x) => re.test(x); }
    case 'not_regex': { const re = anchored(m.pattern); return (x) => !re.test(x); }
    case 'in': { const set = new Set(m.values); return (x) => set.has(x); }
    case 'not_in': { const set = new Set(m.values); return (x) => !set.has(x); }
  }
}

/** Compiles a set of matchers (all must hold) into one predicate; no matchers match everything. */
export function compileMatchers(...sets: (Matchers | undefined)[]): LabelPredicate {
  const parts: [string, (v: string) => boolean][] = [];
  for (const set of sets) {
    if (!set) continue;
    for (const name of Object.keys(set)) parts.push([name, compileMatcher(set[name])]);
  }
  if (parts.length === 0) return () => true;
  return (labels) => {
    for (let i = 0; i < parts.length; i++) {
      const [name, test] = parts[i];
      if (!test(labels[name] ?? '')) return false;
    }
    return true;
  };
}

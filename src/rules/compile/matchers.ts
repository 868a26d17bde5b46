/**
 * Label matching: a rule's, a condition's, a silence's or an inhibition's `Matchers` compiled once into
 * one predicate. Regexes go through the regex guard (RE2: linear time; the whole value must match), each
 * pattern compiled once.
 */
import type { Labels } from '../../samples.ts';
import type { LabelMatcher, Matchers } from '../types.ts';
import { compileLabelRegex } from './regex-guard.ts';

/** A compiled label predicate. */
export type LabelPredicate = (labels: Labels) => boolean;

const cache = new Map<string, (value: string) => boolean>();
/** The RE2 regex of the loader (also for silences added at run time, which skip the loader), compiled once. */
function anchored(pattern: string): (value: string) => boolean {
  let test = cache.get(pattern);
  if (!test) {
    test = compileLabelRegex(pattern);
    if (cache.size >= 10_000) cache.clear(); // patterns come from rules and API silences: bound the cache anyway
    cache.set(pattern, test);
  }
  return test;
}

/** Compiles one matcher; a missing label reads as the empty string. */
export function compileMatcher(m: LabelMatcher): (value: string) => boolean {
  switch (m.op) {
    case 'equals': {
      const v = m.value;
      return (x) => x === v;
    }
    case 'not': {
      const v = m.value;
      return (x) => x !== v;
    }
    case 'regex': {
      const test = anchored(m.pattern);
      return (x) => test(x);
    }
    case 'not_regex': {
      const test = anchored(m.pattern);
      return (x) => !test(x);
    }
    case 'in': {
      const set = new Set(m.values);
      return (x) => set.has(x);
    }
    case 'not_in': {
      const set = new Set(m.values);
      return (x) => !set.has(x);
    }
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

/** "Did you mean" suggestions for misspelt keys, signal names and labels, by edit distance. */

/** Levenshtein distance, stopping early once it exceeds `max` (inputs are short keys and names). */
export function editDistance(a: string, b: string, max = 3): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The closest candidate to `word`, or undefined when nothing is close. Close means at most a third of
 * the word's length in edits (at least 1, at most 3), so `windw` → `window` but `x` suggests nothing.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const max = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestD = max + 1;
  for (const c of candidates) {
    if (c === word) continue;
    const d = editDistance(word.toLowerCase(), c.toLowerCase(), max);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** A hint sentence: `did you mean "window"?`, or `fallback` when nothing is close. */
export function didYouMean(word: string, candidates: Iterable<string>, fallback: string): string {
  const c = closest(word, candidates);
  return c === undefined ? fallback : `did you mean "${c}"?`;
}

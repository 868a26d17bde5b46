/**
 * Which cgroups get their own series on /metrics (per signal): at most N, chosen by activity, sticky so a series
 * does not flap in and out between scrapes; everything else is folded into cgroup="other". Pure.
 */

/** A non-member replaces the least active member only when it is this many times more active. */
export const SWAP_FACTOR = 2;

/**
 * Next member set. Members that vanished leave; free slots go to the most active others (even at zero activity, so
 * a host with fewer than N cgroups exports them all); then a non-member displaces the weakest member when it is
 * SWAP_FACTOR times more active.
 */
export function selectTop(current: ReadonlySet<string>, scores: ReadonlyMap<string, number>, n: number): Set<string> {
  const score = (id: string): number => scores.get(id) ?? 0;
  let members = [...current].filter((id) => scores.has(id));
  if (members.length > n) members = members.sort((a, b) => score(b) - score(a)).slice(0, n);
  const set = new Set(members);
  const others = [...scores.keys()].filter((id) => !set.has(id)).sort((a, b) => score(b) - score(a));
  let k = 0;
  while (set.size < n && k < others.length) set.add(others[k++]);
  if (k >= others.length || set.size === 0) return set;
  // Swaps: weakest members against the strongest remaining others.
  const weak = [...set].sort((a, b) => score(a) - score(b));
  let w = 0;
  while (
    k < others.length &&
    w < weak.length &&
    score(others[k]) > SWAP_FACTOR * score(weak[w]) &&
    score(others[k]) > 0
  ) {
    set.delete(weak[w++]);
    set.add(others[k++]);
  }
  return set;
}

/** Activity score: decays by half each scrape and adds the latest increase, so recent activity counts most. */
export function decayScore(prev: number | undefined, increase: number): number {
  return (prev ?? 0) / 2 + increase;
}

/**
 * Measurements of bench/engine.ts, taken from outside the processes: CPU time of a whole process tree (every thread
 * of every process: V8's GC and compiler threads too, and both sides of the privilege split), resident and
 * proportional memory summed over the tree, and quantiles of the engine's tick-time histogram between two scrapes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { histogramQuantile } from '../src/quantile.ts';
import { samplesOf, type PromFamily } from '../test/support/prom-parse.ts';

/** Pids of `root` and all its descendants now. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(e));
      children.set(ppid, list);
    } catch {
      /* gone meanwhile */
    }
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/** CPU seconds (user + system, every thread, children already reaped included) of each pid, summed. */
export function cpuSeconds(pids: readonly number[]): number {
  const hz = 100; // USER_HZ on Linux
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime stime cutime cstime: fields 14–17 of stat(5), here 11–14 after "pid (comm) ".
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      /* gone */
    }
  }
  return ticks / hz;
}

/** RSS and PSS in bytes summed over the pids (PSS splits shared pages, e.g. the node binary, between processes). */
export function memory(pids: readonly number[]): { rss: number; pss: number } {
  let rss = 0,
    pss = 0;
  for (const pid of pids) {
    try {
      const roll = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      rss += Number(/^Rss:\s+(\d+)/m.exec(roll)?.[1] ?? 0) * 1024;
      pss += Number(/^Pss:\s+(\d+)/m.exec(roll)?.[1] ?? 0) * 1024;
    } catch {
      /* gone */
    }
  }
  return { rss, pss };
}

/**
 * Quantile q of a histogram's observations between two scrapes: the cumulative bucket counts' increases, per bucket,
 * through the project's one histogram quantile (src/quantile.ts, as Prometheus' histogram_quantile).
 */
export function quantileBetween(
  before: Map<string, PromFamily>,
  after: Map<string, PromFamily>,
  name: string,
  q: number,
): number {
  const cumulative = (m: Map<string, PromFamily>): Map<number, number> =>
    new Map(
      samplesOf(m, `${name}_bucket`).map((s) => [s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), s.value]),
    );
  const b = cumulative(before),
    a = cumulative(after);
  const bounds = [...a.keys()].sort((x, y) => x - y);
  const grown = bounds.map((le) => (a.get(le) ?? 0) - (b.get(le) ?? 0));
  return histogramQuantile(
    q,
    bounds,
    grown.map((c, i) => c - (i ? grown[i - 1] : 0)),
  );
}

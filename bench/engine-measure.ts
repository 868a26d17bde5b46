/**
 * Measurements of bench/engine.ts, taken from outside the processes: CPU time of a whole process tree (every thread
 * of every process: V8's GC and compiler threads too, and both sides of the privilege split), resident and
 * proportional memory summed over the tree, and the engine's own tick-time histogram and GC counter from /metrics.
 */
import { readFileSync, readdirSync } from 'node:fs';

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

/** Metric samples `name{labels} value` of an exposition text whose name is `name`. */
export function samples(text: string, name: string): { labels: string; value: number }[] {
  const out: { labels: string; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name) out.push({ labels: m[2] ?? '', value: Number(m[3]) });
  }
  return out;
}

/** Cumulative histogram buckets (le → count) of a metric in an exposition text. */
export function buckets(text: string, name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of samples(text, `${name}_bucket`)) {
    const le = /le="([^"]+)"/.exec(s.labels)?.[1];
    if (le) out.set(le === '+Inf' ? Infinity : Number(le), s.value);
  }
  return out;
}

/**
 * Quantile q of the observations between two scrapes of a cumulative histogram, interpolated linearly inside the
 * bucket as Prometheus' histogram_quantile does (the top finite bound when it falls in +Inf).
 */
export function histogramQuantile(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total <= 0) return NaN;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i] >= rank) {
      if (!Number.isFinite(bounds[i])) return bounds[i - 1] ?? NaN;
      const lo = i === 0 ? 0 : bounds[i - 1];
      const below = i === 0 ? 0 : counts[i - 1];
      return lo + ((bounds[i] - lo) * (rank - below)) / Math.max(1, counts[i] - below);
    }
  }
  return NaN;
}

/**
 * Each tripline process's own cost on /metrics, labelled with its side of the privilege split: CPU seconds (all
 * threads: the main one, V8's compiler and GC helpers, libuv's pool), resident memory and time spent in garbage
 * collection. Read at scrape time; the GC time is summed by a PerformanceObserver (one callback per GC, cheap).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { collected, type CollectedMetric } from './health-metrics.ts';

let gcSeconds = 0;
let observer: PerformanceObserver | undefined;

/** Starts summing GC pauses of this process (idempotent). */
function observeGc(): void {
  if (observer) return;
  observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcSeconds += e.duration / 1000;
  });
  observer.observe({ entryTypes: ['gc'] });
}

/** This process's CPU, memory and GC metrics, labelled `side` (probe, network; `engine` when not split). */
export function processMetrics(prefix: string, side: string): CollectedMetric[] {
  observeGc();
  const p = `${prefix}process_`;
  const labels = { side };
  return [
    collected(
      `${p}cpu_seconds_total`,
      'counter',
      'CPU time of this tripline process (user + system, all threads).',
      () => {
        const u = process.cpuUsage();
        return [{ value: (u.user + u.system) / 1e6, labels }];
      },
    ),
    collected(`${p}resident_memory_bytes`, 'gauge', 'Resident memory of this tripline process.', () => [
      { value: process.memoryUsage.rss(), labels },
    ]),
    collected(`${p}gc_seconds_total`, 'counter', 'Time this tripline process spent in garbage collection.', () => [
      { value: gcSeconds, labels },
    ]),
  ];
}

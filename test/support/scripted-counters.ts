/**
 * A counter family scripted by the test, tick by tick: no kernel, no files. Register it under a family name the
 * config accepts (EngineOptions.counters) and the engine's sampler reads whatever the test queued for each tick.
 */
import type { Labels } from '../../src/samples.ts';
import type { CounterFactory, CounterFamily, Reading } from '../../src/probes/counters/types.ts';

/** A cumulative counter reading (the sampler turns consecutive readings into deltas). */
export function counterReading(signal: string, labels: Labels, value: number): Reading {
  return { kind: 'counter', signal, labels, value };
}

/** A counter family whose readings are scripted: queued per read, then produced by a function. */
export class ScriptedCounters {
  /** The registry key and family name (one the config's counters.enabled accepts). */
  readonly name: string;
  /** Reads so far (one per sampler tick). */
  reads = 0;
  /** Starts and closes of the family (the engine starts it once and closes it on stop). */
  starts = 0;
  closes = 0;
  readonly #queue: Reading[][] = [];
  #then: (read: number) => Reading[] = () => [];
  readonly #waiters: { atRead: number; resolve: () => void }[] = [];

  constructor(name = 'cpustat') {
    this.name = name;
  }

  /** Queues the readings of the next reads, one array per tick. */
  script(...ticks: Reading[][]): this {
    this.#queue.push(...ticks);
    return this;
  }

  /** What a read returns once the queue is empty (`read` counts from 1). @defaultValue no readings */
  then(fn: (read: number) => Reading[]): this {
    this.#then = fn;
    return this;
  }

  /** Resolves once the family has been read `n` more times. */
  afterReads(n: number): Promise<void> {
    return new Promise((resolve) => this.#waiters.push({ atRead: this.reads + n, resolve }));
  }

  /** The factory to register (bpf: false, so `noBpf` keeps it). */
  get factory(): CounterFactory {
    return {
      name: this.name,
      signals: [],
      bpf: false,
      start: (): CounterFamily => {
        this.starts++;
        return {
          name: this.name,
          read: () => {
            const n = ++this.reads;
            const out = this.#queue.shift() ?? this.#then(n);
            for (const w of this.#waiters.filter((x) => x.atRead <= n)) {
              this.#waiters.splice(this.#waiters.indexOf(w), 1);
              w.resolve();
            }
            return out;
          },
          stats: () => ({ programs: 0, dropped: 0 }),
          close: () => {
            this.closes++;
          },
        };
      },
    };
  }

  /** A counter registry holding only this family. */
  get registry(): Record<string, CounterFactory> {
    return { [this.name]: this.factory };
  }
}

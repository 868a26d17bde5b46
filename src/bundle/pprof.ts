/**
 * Stacks to a gzipped pprof profile (`<probe>.pb.gz`), readable by `go tool pprof` and other pprof viewers.
 * One function and one location per distinct frame name (symbolized frames have no addresses worth keeping);
 * comm and off-CPU reason become sample labels.
 */
import { gzipSync } from 'node:zlib';
import { Function as PFunction, Label, Location, Line, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import type { StackWeight } from './types.ts';

export interface PprofMeta {
  /** Capture start, ms since the epoch. */
  readonly startMs: number;
  readonly durationMs: number;
  /** Sampling period in ns for on-CPU samples (e.g. 1e9/99), 0 when unknown. */
  readonly periodNs?: number;
}

/**
 * Encodes stacks of one unit. Samples: sample type `samples/count` (plus `cpu/nanoseconds` when the period
 * is known). Seconds: `off-cpu/nanoseconds`. Frames arrive root first; pprof wants the leaf first.
 */
export function toPprof(stacks: readonly StackWeight[], meta: PprofMeta): Buffer {
  const strings = new StringTable();
  const unit = stacks[0]?.unit ?? 'samples';
  const period = meta.periodNs ?? 0;
  const sampleType =
    unit === 'seconds'
      ? [new ValueType({ type: strings.dedup('off-cpu'), unit: strings.dedup('nanoseconds') })]
      : [
          new ValueType({ type: strings.dedup('samples'), unit: strings.dedup('count') }),
          ...(period > 0 ? [new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') })] : []),
        ];

  const functions: PFunction[] = [];
  const locations: Location[] = [];
  const locByName = new Map<string, number>();
  const locationOf = (name: string): number => {
    let id = locByName.get(name);
    if (id === undefined) {
      id = locations.length + 1; // ids start at 1: 0 means "none" in pprof
      const n = strings.dedup(name);
      functions.push(new PFunction({ id, name: n, systemName: n }));
      locations.push(new Location({ id, line: [new Line({ functionId: id })] }));
      locByName.set(name, id);
    }
    return id;
  };

  const samples: Sample[] = [];
  for (const s of stacks) {
    if (s.unit !== unit) throw new Error(`pprof: mixed units ${unit} and ${s.unit} in one profile`);
    const locationId = [...s.frames].reverse().map((f) => locationOf(f === '' ? '[unknown]' : f));
    const value =
      unit === 'seconds'
        ? [Math.round(s.weight * 1e9)]
        : [Math.round(s.weight), ...(period > 0 ? [Math.round(s.weight * period)] : [])];
    const label: Label[] = [];
    if (s.comm) label.push(new Label({ key: strings.dedup('comm'), str: strings.dedup(s.comm) }));
    if (s.reason) label.push(new Label({ key: strings.dedup('reason'), str: strings.dedup(s.reason) }));
    samples.push(new Sample({ locationId, value, label }));
  }

  const profile = new Profile({
    sampleType,
    sample: samples,
    location: locations,
    function: functions,
    stringTable: strings,
    timeNanos: BigInt(Math.round(meta.startMs)) * 1_000_000n,
    durationNanos: BigInt(Math.round(meta.durationMs)) * 1_000_000n,
    ...(unit === 'samples' && period > 0
      ? { periodType: { type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }, period: Math.round(period) }
      : {}),
  });
  return gzipSync(profile.encode());
}

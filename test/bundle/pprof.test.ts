import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { toPprof } from '../../src/bundle/pprof.ts';
import { onCpu, offCpu } from './fixtures/results.ts';

function decode(buf: Buffer): { p: Profile; s: (i: number | bigint) => string } {
  const p = Profile.decode(gunzipSync(buf));
  return { p, s: (i) => p.stringTable.strings[Number(i)] };
}

test('pprof of on-CPU samples parses back with samples/count and cpu/nanoseconds', () => {
  const { p, s } = decode(toPprof(onCpu, { startMs: 1_700_000_000_000, durationMs: 10_000, periodNs: 1e9 / 99 }));
  assert.deepEqual(
    p.sampleType.map((t) => `${s(t.type)}/${s(t.unit)}`),
    ['samples/count', 'cpu/nanoseconds'],
  );
  assert.equal(p.sample.length, onCpu.length);
  assert.equal(Number(p.durationNanos), 10_000 * 1e6);
  // Leaf first: the first location of the hottest sample is memcpy, the last is _start.
  const fnName = (locId: number | bigint): string => {
    const loc = p.location.find((l) => Number(l.id) === Number(locId))!;
    return s(p.function.find((f) => Number(f.id) === Number(loc.line[0].functionId))!.name);
  };
  const hot = p.sample[0];
  assert.equal(fnName(hot.locationId[0]), 'memcpy');
  assert.equal(fnName(hot.locationId.at(-1)!), '_start');
  assert.equal(Number(hot.value[0]), 420);
  assert.equal(s(hot.label[0].key), 'comm');
  assert.equal(s(hot.label[0].str), 'api');
  // One function per distinct frame name.
  const distinct = new Set(onCpu.flatMap((x) => x.frames));
  assert.equal(p.function.length, distinct.size);
});

test('pprof of off-CPU seconds uses off-cpu/nanoseconds and keeps the reason label', () => {
  const { p, s } = decode(toPprof(offCpu, { startMs: Date.now(), durationMs: 5000 }));
  assert.deepEqual(
    p.sampleType.map((t) => `${s(t.type)}/${s(t.unit)}`),
    ['off-cpu/nanoseconds'],
  );
  assert.equal(Number(p.sample[0].value[0]), 1_250_000_000);
  const labels = Object.fromEntries(p.sample[1].label.map((l) => [s(l.key), s(l.str)]));
  assert.deepEqual(labels, { comm: 'api', reason: 'runnable' });
});

test('pprof refuses stacks of mixed units', () => {
  assert.throws(() => toPprof([onCpu[0], offCpu[0]], { startMs: 0, durationMs: 1 }), /mixed units/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OffenderWatch } from '../../src/capture/watch-list.ts';

test('offenders: the union of firing incidents goes to the kernel; a resolve takes its own off', () => {
  const writes: bigint[][] = [];
  const w = new OffenderWatch({ set: (ids) => writes.push([...ids]) });
  w.add('a', [1n, 2n]);
  w.add('b', [2n, 3n]);
  assert.deepEqual(writes.at(-1), [1n, 2n, 3n]);
  w.remove('a');
  assert.deepEqual(writes.at(-1), [2n, 3n], '2 stays: incident b has it too');
  w.remove('a');
  assert.equal(writes.length, 3, 'an unknown key writes nothing');
  w.add('c', []);
  assert.equal(writes.length, 3, 'no offenders (host-wide): nothing to write');
});

test('offenders: policy forever keeps them, off adds none; past the cap the oldest incident leaves first', () => {
  const last: bigint[][] = [];
  const forever = new OffenderWatch({ set: (ids) => last.push([...ids]), policy: 'forever' });
  forever.add('a', [1n]);
  forever.remove('a');
  assert.deepEqual(forever.ids(), [1n]);
  const off = new OffenderWatch({ set: () => assert.fail('off writes nothing'), policy: 'off' });
  off.add('a', [1n]);
  assert.deepEqual(off.ids(), []);
  const capped = new OffenderWatch({ set: () => {}, max: 3 });
  capped.add('a', [1n, 2n]);
  capped.add('b', [3n]);
  capped.add('c', [4n]);
  assert.deepEqual(capped.ids(), [3n, 4n]);
});

test('offenders: a failing kernel write is remembered, never thrown (the capture goes on)', () => {
  const told: string[] = [];
  const w = new OffenderWatch({
    set: () => {
      throw new Error('map full');
    },
    onError: (m) => told.push(m),
  });
  w.add('a', [1n]);
  assert.equal(w.lastError, 'map full');
  assert.deepEqual(told, ['map full']);
});

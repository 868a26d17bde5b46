import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toFolded, parseFolded, foldedFrame } from '../../src/bundle/folded.ts';
import { onCpu, offCpu, HOSTILE } from './fixtures/results.ts';

test('folded text: comm as root, identical paths merged, heaviest first', () => {
  const text = toFolded([...onCpu, onCpu[2]]);
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], 'api;_start;main;handle_request;json_parse;memcpy 420');
  assert.equal(lines[2], 'api;_start;main;gc_collect 120');
  assert.equal(lines.length, 4);
  assert.ok(text.endsWith('\n'));
});

test('folded text: seconds become integer microseconds', () => {
  const parsed = parseFolded(toFolded(offCpu));
  assert.deepEqual(parsed[0], {
    path: ['api', 'main', 'wait_for_work', 'pthread_cond_wait', 'futex_wait'],
    weight: 1_250_000,
  });
  assert.equal(parsed[1].weight, 380_000);
});

test('folded text: separators inside frame names cannot split a stack or a line', () => {
  assert.equal(foldedFrame('a;b\nc'), 'a_b_c');
  assert.equal(foldedFrame(''), '[unknown]');
  const parsed = parseFolded(toFolded([{ frames: ['main', HOSTILE], weight: 3, unit: 'samples' }]));
  assert.equal(parsed.length, 1);
  assert.equal(parsed[0].path.length, 2);
  assert.equal(parsed[0].weight, 3);
});

test('folded text: zero weights are dropped, empty input gives empty text', () => {
  assert.equal(toFolded([{ frames: ['a'], weight: 0, unit: 'samples' }]), '');
  assert.equal(toFolded([]), '');
});

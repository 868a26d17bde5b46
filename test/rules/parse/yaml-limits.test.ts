// Nesting and key limits of untrusted YAML, checked before and around the parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDocument, type Node } from 'yaml';
import { blockTooDeep, flowTooDeep, reservedKeys, tooDeep } from '../../../src/rules/parse/yaml-limits.ts';

test('flow nesting: brackets count, except inside quotes and comments', () => {
  assert.equal(flowTooDeep('a: [[[1]]]', 3), -1);
  assert.equal(flowTooDeep('a: [[[[1]]]]', 3), 6);
  assert.equal(flowTooDeep(`a: "[[[[[[" # {{{{{{\nb: '[[[[''[[[['\n`, 3), -1, 'quoted and commented brackets');
  // A plain scalar's brackets are counted too: over-counting is the safe side (anchors and tags may
  // precede a real collection, so "is this a collection?" is not decided here).
  assert.equal(flowTooDeep('c: x[[[[', 3), 7);
  assert.equal(flowTooDeep('['.repeat(100_000), 32), 32);
});

test('block nesting: by indentation and list items', () => {
  assert.equal(blockTooDeep('a:\n  b:\n    c: 1\n', 3), -1);
  assert.equal(blockTooDeep('a:\n  b:\n    c:\n      d: 1\n', 3), 21, 'the offset of `d`');
  assert.equal(blockTooDeep('a:\n  - - - x\n', 3), 5);
  assert.equal(
    blockTooDeep('a:\n  b: |\n    text\n      more indented text\n', 3),
    -1,
    'a block scalar adds one level',
  );
});

test('tree depth and reserved keys on parsed documents', () => {
  const doc = parseDocument('a: {b: {c: [1]}}\nd: {__proto__: 1, e: {constructor: 2}}\n');
  assert.equal(tooDeep(doc.contents as Node, 4), undefined);
  assert.ok(tooDeep(doc.contents as Node, 3));
  assert.deepEqual(
    reservedKeys(doc.contents as Node).map((k) => k.path),
    [
      ['d', '__proto__'],
      ['d', 'e', 'constructor'],
    ],
  );
});

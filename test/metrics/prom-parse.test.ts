import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProm, samplesOf } from '../support/prom-parse.ts';

test('the exposition parser reads families, escaped labels and histogram suffixes', () => {
  const f = parseProm(`# HELP x_total Things.
# TYPE x_total counter
x_total{a="q\\"uo\\\\te",b="n\\nl"} 3
# TYPE h histogram
h_bucket{le="0.5"} 1
h_bucket{le="+Inf"} 2
h_sum 0.75
h_count 2
`);
  assert.equal(f.get('x_total')?.help, 'Things.');
  assert.deepEqual(samplesOf(f, 'x_total')[0].labels, { a: 'q"uo\\te', b: 'n\nl' });
  assert.equal(samplesOf(f, 'h', { le: '+Inf' })[0].value, 2);
  assert.equal(f.get('h')?.samples.length, 4);
});

test('the exposition parser rejects malformed lines', () => {
  assert.throws(() => parseProm('# TYPE a counter\na{b="x} 1\n'), /line 2/);
  assert.throws(() => parseProm('# TYPE a counter\na one\n'), /line 2: bad value/);
  assert.throws(() => parseProm('b 1\n'), /without a TYPE/);
  assert.throws(() => parseProm('# TYPE a counter\na{b="1",b="2"} 1\n'), /duplicate/);
});

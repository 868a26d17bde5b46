import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codeSpan, escapeText, inertMrkdwn, safeText, truncate } from '../../../src/actions/slack/escape.ts';

test('escapeText turns the three control characters into entities', () => {
  assert.equal(
    escapeText('<!channel> & <@U123> <https://x|y>'),
    '&lt;!channel&gt; &amp; &lt;@U123&gt; &lt;https://x|y&gt;',
  );
});

test('truncate cuts to the limit with an ellipsis and never splits an entity or an emoji', () => {
  assert.equal(truncate('abcdef', 10), 'abcdef');
  assert.equal(truncate('abcdef', 4), 'abc…');
  assert.equal(truncate('ab&amp;cd', 5), 'ab…');
  assert.equal(truncate('ab😀cd', 4), 'ab…');
  assert.equal(safeText('x'.repeat(10_000), 150).length, 150);
});

test('codeSpan shows hostile values as inert inline code', () => {
  assert.equal(codeSpan('*bold* <!channel>'), '`*bold* &lt;!channel&gt;`');
  assert.equal(codeSpan('a`b\nc'), '`aˋb c`');
  assert.equal(codeSpan(''), '`(empty)`');
  assert.equal(codeSpan('y'.repeat(10_000)).length, 202);
});

test('inertMrkdwn breaks formatting markers and escapes mentions', () => {
  const out = inertMrkdwn('*bold* _it_ <!here>', 3000);
  assert.ok(!out.includes('*bold*'));
  assert.ok(!out.includes('<!here>'));
  assert.match(out, /&lt;!here&gt;/);
  assert.equal(inertMrkdwn('json_encode a*b', 100), 'json_encode a*b', 'markers inside words stay as they are');
  assert.ok(!inertMrkdwn('x _it_ y ~s~ `c`', 100).match(/_it_|~s~|`c`/));
});

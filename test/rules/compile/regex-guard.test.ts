// Label regexes: safe patterns pass and match whole values; catastrophic ones are refused before they
// ever run, quickly, each with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkLabelRegex,
  compileLabelRegex,
  MAX_LABEL_VALUE_LENGTH,
  MAX_REGEX_LENGTH,
} from '../../../src/rules/compile/regex-guard.ts';
import { TriplineError } from '../../../src/errors.ts';

function reason(pattern: string): string {
  try {
    checkLabelRegex(pattern);
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof TriplineError && e.code === 'RULE_ERR_REGEX');
    return e.message.replace(`regex ${JSON.stringify(pattern)} `, '');
  }
}

test('ordinary label patterns are accepted and anchored', () => {
  for (const p of [
    'web-.*',
    '/kubepods/burstable/pod[0-9a-f-]+/.*',
    'read|write|fsync',
    '(foo|bar)+',
    'a{2,5}',
    '(?:ab)?c',
    '\\d+\\.\\d+',
    '(?<kind>SELECT|INSERT)',
  ])
    assert.equal(reason(p), 'ok', p);
  const m = compileLabelRegex('web-.*');
  assert.equal(m('web-1'), true);
  assert.equal(m('my-web-1'), false, 'anchored at the start');
  const r = compileLabelRegex('read|write');
  assert.equal(r('readx'), false, 'anchored at the end, across alternatives');
  assert.equal(r('write'), true);
});

test('catastrophic and unsupported patterns are refused with the reason', () => {
  assert.equal(reason('(a+)+$'), 'repeats a group that already repeats (nested quantifier)');
  assert.equal(reason('(a*)*'), 'repeats a group that already repeats (nested quantifier)');
  assert.equal(reason('(x+x+)+y'), 'repeats a group that already repeats (nested quantifier)');
  assert.equal(reason('(?:\\d+){3}'), 'repeats a group that already repeats (nested quantifier)');
  assert.equal(reason('((a|b)+)*'), 'repeats a group that already repeats (nested quantifier)');
  assert.equal(reason('(a|a)*'), 'repeats a group whose alternatives can overlap');
  assert.equal(reason('(a|ab)+c'), 'repeats a group whose alternatives can overlap');
  assert.equal(reason('(.|x)*'), 'repeats a group whose alternatives can overlap');
  assert.equal(reason('(a)\\1'), 'uses a backreference');
  assert.equal(reason('(?<n>a)\\k<n>'), 'uses a backreference');
  assert.equal(reason('(?=a)b'), 'uses lookaround');
  assert.equal(reason('a(?<!b)'), 'uses lookaround');
  assert.equal(reason('.*a.*b.*c.*'), 'has 4 unbounded quantifiers (at most 3)');
  assert.equal(reason('(unclosed'), 'is invalid: /(unclosed/u: Unterminated group');
  assert.throws(() => checkLabelRegex('a'.repeat(MAX_REGEX_LENGTH + 1)), /longer than 256 characters/);
});

test('accepted worst cases stay fast on the longest label values', () => {
  const value = 'a'.repeat(MAX_LABEL_VALUE_LENGTH - 1) + '!';
  for (const p of ['.*a.*a.*b', 'a*a*a*b', '(?:a|b)*c']) {
    let m: (v: string) => boolean;
    try {
      m = compileLabelRegex(p);
    } catch {
      continue;
    }
    const t = performance.now();
    assert.equal(m(value), false);
    assert.ok(performance.now() - t < 500, `${p} took ${performance.now() - t} ms`);
  }
  // Values past the bound never reach the regex engine.
  assert.equal(compileLabelRegex('a+')('a'.repeat(MAX_LABEL_VALUE_LENGTH + 1)), false);
});

test('refusing a catastrophic pattern is itself fast', () => {
  const t = performance.now();
  for (let i = 0; i < 1000; i++) assert.throws(() => checkLabelRegex('(a+)+'.repeat(20)));
  assert.ok(performance.now() - t < 2000);
});

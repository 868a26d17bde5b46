// Label regexes: RE2 patterns match whole values in linear time; patterns that a backtracking engine would
// take hours on finish at once; unsupported syntax is refused with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLabelRegex, compileLabelRegex, MAX_REGEX_LENGTH } from '../../../src/rules/compile/regex-guard.ts';
import { compileMatchers } from '../../../src/rules/compile/matchers.ts';
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

test('ordinary label patterns are accepted and match whole values', () => {
  for (const p of [
    'web-.*',
    '/kubepods/burstable/pod[0-9a-f-]+/.*',
    'read|write|fsync',
    '(foo|bar)+',
    'a{2,5}',
    '(?:ab)?c',
    '\\d+\\.\\d+',
    '(?P<kind>SELECT|INSERT)',
  ])
    assert.equal(reason(p), 'ok', p);
  const m = compileLabelRegex('web-.*');
  assert.equal(m('web-1'), true);
  assert.equal(m('my-web-1'), false, 'anchored at the start');
  const r = compileLabelRegex('read|write');
  assert.equal(r('readx'), false, 'anchored at the end, across alternatives');
  assert.equal(r('write'), true);
});

test('a pattern cannot escape its anchoring with unbalanced parentheses', () => {
  assert.match(reason('a)|(b'), /^is invalid: /);
  assert.match(reason('(unclosed'), /^is invalid: /);
});

test('backreferences, lookaround and over-long patterns are refused with the reason', () => {
  assert.equal(reason('(a)\\1'), 'uses a backreference');
  assert.equal(reason('(?<n>a)\\k<n>'), 'uses a backreference');
  assert.equal(reason('(?=a)b'), 'uses lookaround');
  assert.equal(reason('a(?<!b)'), 'uses lookaround');
  assert.equal(reason('web-(?!canary).*'), 'uses lookaround');
  assert.throws(() => checkLabelRegex('a'.repeat(MAX_REGEX_LENGTH + 1)), /longer than 256 characters/);
});

test('patterns that backtrack catastrophically elsewhere are matched in linear time on a 10 kB value', () => {
  const value = 'a'.repeat(10_000) + '!';
  for (const p of ['(.?){30}.{30}', '(.{0,2}){20}', '(a|a)*$', '(a+)+$', '(x+x+)+y', '.*a.*a.*a.*a.*b']) {
    assert.equal(reason(p), 'ok', p);
    const m = compileLabelRegex(p);
    const t = performance.now();
    assert.equal(m(value), false, p);
    // A hang guard, not a speed target: a backtracking engine takes hours on these.
    assert.ok(performance.now() - t < 5_000, `${p} took ${Math.round(performance.now() - t)} ms`);
  }
  assert.equal(compileLabelRegex('(.?){30}.{30}')('a'.repeat(45)), true, 'still matches what it should');
});

test('silence and rule matchers use the same linear-time engine', () => {
  const match = compileMatchers({ cgroup: { op: 'regex', pattern: '(a|a)*$' } });
  const t = performance.now();
  assert.equal(match({ cgroup: 'a'.repeat(10_000) + '!' }), false);
  assert.equal(match({ cgroup: 'aaaa' }), true);
  assert.ok(performance.now() - t < 5_000);
});

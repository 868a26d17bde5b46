import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileMatchers } from '../../../src/rules/compile/matchers.ts';
import { hasCode } from '../../../src/errors.ts';

test('each matcher kind, anchored regexes, missing labels read as empty', () => {
  const m = compileMatchers({
    pod: { op: 'regex', pattern: 'api-.*' },
    ns: { op: 'in', values: ['prod', 'stage'] },
    qos: { op: 'not', value: 'BestEffort' },
    syscall: { op: 'not_in', values: ['futex'] },
    container: { op: 'not_regex', pattern: 'istio-.+' },
  });
  const base = { pod: 'api-7f', ns: 'prod', qos: 'Burstable', syscall: 'read', container: 'app' };
  assert.equal(m(base), true);
  assert.equal(m({ ...base, pod: 'xapi-7f' }), false, 'regex is anchored at the start');
  assert.equal(m({ ...base, ns: 'dev' }), false);
  assert.equal(m({ ...base, qos: 'BestEffort' }), false);
  assert.equal(m({ ...base, syscall: 'futex' }), false);
  assert.equal(m({ ...base, container: 'istio-proxy' }), false);
  const { qos: _q, ...noQos } = base;
  assert.equal(m(noQos), true, 'absent qos is "" which is not BestEffort');
  assert.equal(compileMatchers({ cgroup: { op: 'equals', value: '' } })({}), true);
  assert.equal(compileMatchers()({ any: 'x' }), true);
  assert.equal(
    compileMatchers({ a: { op: 'equals', value: 'x' } }, { b: { op: 'equals', value: 'y' } })({ a: 'x', b: 'z' }),
    false,
    'several sets: all must hold',
  );
});

test('an invalid or unsupported pattern is a coded error (silences from the API do not pass the loader)', () => {
  assert.throws(
    () => compileMatchers({ a: { op: 'regex', pattern: '(' } }),
    (e) => hasCode(e, 'RULE_ERR_REGEX'),
  );
  assert.throws(
    () => compileMatchers({ a: { op: 'regex', pattern: '(a)\\1' } }),
    (e) => hasCode(e, 'RULE_ERR_REGEX'),
  );
});

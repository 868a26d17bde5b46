import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseHooks, disabledPrograms } from '../../src/probes/hooks.ts';
import { hasCode } from '../../src/errors.ts';

const yes = { ok: true, reason: 'loads' };
const no = (reason: string) => ({ ok: false, reason });

test('tp_btf when it loads, else the raw_tp twins; neither is PROBE_ERR_UNSUPPORTED naming the part', () => {
  assert.equal(chooseHooks({ tpBtf: yes, rawTp: yes }, 'runq'), 'tp_btf');
  assert.equal(chooseHooks({ tpBtf: no('no BTF'), rawTp: yes }, 'runq'), 'raw_tp');
  assert.throws(
    () => chooseHooks({ tpBtf: no('no BTF'), rawTp: no('EPERM') }, 'io'),
    (e: unknown) =>
      hasCode(e, 'PROBE_ERR_UNSUPPORTED') &&
      e.message === 'io: neither tp_btf (no BTF) nor raw_tp (EPERM) programs load here' &&
      e.hint.includes('tripline probes'),
  );
});

test('a feature the tp_btf set needs decides too: without it the twins run', () => {
  const f = { tpBtf: yes, rawTp: yes, taskStorage: no('map type 29 rejected') };
  assert.equal(chooseHooks(f, 'runq', ['taskStorage']), 'raw_tp');
  assert.equal(chooseHooks({ ...f, taskStorage: yes }, 'runq', ['taskStorage']), 'tp_btf');
  assert.throws(
    () => chooseHooks({ ...f, rawTp: no('EPERM') }, 'runq', ['taskStorage']),
    /tp_btf \(taskStorage: map type 29 rejected\)/,
  );
});

test('the set not chosen is switched off', () => {
  assert.deepEqual(disabledPrograms(['a', 'b'], 'tp_btf'), ['a_raw', 'b_raw']);
  assert.deepEqual(disabledPrograms(['a', 'b'], 'raw_tp'), ['a', 'b']);
});

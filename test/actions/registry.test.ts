/** The registry: built-ins present, a module under another type's key refused, unknown types named. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTIONS, actionFor, checkRegistry, type ActionRegistry } from '../../src/actions/registry.ts';
import { logAction } from '../../src/actions/log.ts';
import { hasCode } from '../../src/errors.ts';

test('the built-in registry is consistent and holds log and webhook', () => {
  checkRegistry(ACTIONS);
  assert.equal(actionFor('log'), logAction);
  assert.equal(actionFor('webhook').type, 'webhook');
});

test('a module filed under another key (a second entry for one type) fails at start', () => {
  const bad = { log: logAction, webhook: logAction } as unknown as ActionRegistry;
  assert.throws(
    () => checkRegistry(bad),
    (e) => hasCode(e, 'ACTION_ERR_CONFIG') && /"webhook" holds the "log" module/.test(e.message),
  );
});

test('an unknown type names the known ones and the fix', () => {
  assert.throws(
    () => actionFor('pager'),
    (e) => hasCode(e, 'ACTION_ERR_CONFIG') && /src\/actions\/pager\.ts/.test(e.hint) && /log, webhook/.test(e.hint),
  );
});

/**
 * The registry: built-ins present, a module under another type's key refused, unknown types named; every entry
 * carries its spec schema (strict, its own type, every option described) and its doc row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ACTIONS, ACTION_TYPES, actionFor, checkRegistry, type ActionRegistry } from '../../src/actions/registry.ts';
import { actionsReference } from '../../src/actions/doc.ts';
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
    () => actionFor('no-such-action'),
    (e) =>
      hasCode(e, 'ACTION_ERR_CONFIG') &&
      /src\/actions\/no-such-action\.ts/.test(e.hint) &&
      /log/.test(e.hint) &&
      ACTION_TYPES.every((t) => e.hint.includes(t)),
  );
});

test('ACTION_TYPES are the registry keys, in order', () => {
  assert.deepEqual(ACTION_TYPES, Object.keys(ACTIONS));
  for (const t of ['slack', 'scale', 'webhook', 'log']) assert.ok(ACTION_TYPES.includes(t as never), t);
});

for (const [key, mod] of Object.entries(ACTIONS)) {
  test(`${key}: its spec is a strict schema of its own type, every option described, with a doc summary`, () => {
    const json = z.toJSONSchema(mod.spec, { io: 'input', unrepresentable: 'any' }) as {
      properties: Record<string, { const?: string; description?: string }>;
      additionalProperties?: boolean;
    };
    assert.equal(json.properties.type.const, key);
    assert.equal(json.additionalProperties, false, 'strict: an unknown key is an error');
    for (const [k, p] of Object.entries(json.properties))
      if (k !== 'type') assert.ok(p.description, `${key}.${k} has a .describe() text`);
    assert.match(mod.doc.summary, /^[A-Z].*\.$/s);
    assert.equal(mod.spec.safeParse({ type: key, no_such_option: 1 }).success, false);
  });
}

test('the docs section names every action and each option of each', () => {
  const text = actionsReference(ACTIONS);
  for (const [key, mod] of Object.entries(ACTIONS)) {
    assert.ok(text.includes(`#### \`${key}\``), key);
    const props = (z.toJSONSchema(mod.spec, { io: 'input' }) as { properties: object }).properties;
    for (const k of Object.keys(props)) if (k !== 'type') assert.ok(text.includes(`| \`${k}\` |`), `${key}.${k}`);
  }
});

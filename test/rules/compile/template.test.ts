// Annotation templates: field lookups and pipes render; anything that is not a plain lookup of the
// incident's data fails at load with its column.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compileTemplate,
  formatSeconds,
  TemplateError,
  type TemplateData,
} from '../../../src/rules/compile/template.ts';

const data: TemplateData = {
  rule: 'cpu-throttling',
  value: 0.0123,
  threshold: 0.01,
  severity: 'warning',
  labels: { pod_uid: 'aaa', container: 'web', cgroup: '/kubepods/burstable/podaaa/web' },
  stats: { p99: 0.0123, 'c0.rate': 31.5, 'c1.ratio': 0.456 },
};

test('fields and pipes render', () => {
  const r = (t: string) => compileTemplate(t).render(data);
  assert.equal(
    r('{{ .labels.container }} p99 {{ .value | duration }} > {{ .threshold | duration }}'),
    'web p99 12.3ms > 10ms',
  );
  assert.equal(r('{{.rule}}/{{ .severity | upper }}'), 'cpu-throttling/WARNING');
  assert.equal(r('{{ .stats.c0.rate | rate }}, {{ .stats.c1.ratio | percent }}'), '31.5/s, 45.6%');
  assert.equal(r('{{ .stats.p99 | number }}'), '0.0123');
  assert.equal(r('{{ .labels.cgroup | truncate 10 }}'), '/kubepods/…');
  assert.equal(
    r('{{ .labels.missing }}|{{ .stats.nope | duration }}'),
    '|n/a',
    'a missing label renders empty, a statistic without data as n/a',
  );
  assert.equal(r('no expressions'), 'no expressions');
});

test('durations read naturally', () => {
  assert.deepEqual([0, 0.00025, 0.0123, 1.5, 95, 3600].map(formatSeconds), [
    '0s',
    '250us',
    '12.3ms',
    '1.5s',
    '1m35s',
    '60m',
  ]);
});

/** The message and column of a template that fails to compile. */
function failure(t: string): string {
  try {
    compileTemplate(t);
    return 'compiled';
  } catch (e) {
    assert.ok(e instanceof TemplateError && e.code === 'RULE_ERR_TEMPLATE');
    return `${e.column}: ${e.message}`;
  }
}

test('templates cannot reach outside their data', () => {
  assert.equal(failure('{{ .constructor }}'), '4: .constructor reaches outside the template data');
  assert.equal(failure('x {{ .labels.__proto__ }}'), '6: .labels.__proto__ reaches outside the template data');
  assert.equal(
    failure('{{ .labels.constructor.constructor }}'),
    '4: .labels.constructor.constructor reaches outside the template data',
  );
  assert.equal(failure('{{ .stats.prototype }}'), '4: .stats.prototype reaches outside the template data');
  assert.equal(
    failure('{{ process.env.SLACK_BOT_TOKEN }}'),
    '4: "process.env.SLACK_BOT_TOKEN" is not a field reference',
  );
  assert.equal(
    failure("{{ .labels.pod + require('fs') }}"),
    '4: ".labels.pod + require(\'fs\')" is not a field reference',
  );
  assert.equal(failure('{{ .env }}'), '4: unknown field .env');
  assert.equal(failure('{{ .labels["a"] }}'), '4: ".labels[\\"a\\"]" is not a field reference');
  // Own properties only: a label named like an Object.prototype member renders as missing.
  assert.equal(compileTemplate('[{{ .labels.toString }}][{{ .stats.hasOwnProperty }}]').render(data), '[][n/a]');
});

test('bad expressions fail with their column', () => {
  assert.equal(failure('ok {{ .value | duraton }}'), '7: unknown pipe "duraton"');
  assert.equal(failure('{{ .labels.pod | truncate }}'), '4: pipe truncate needs one whole number');
  assert.equal(failure('{{ .value | duration 3 }}'), '4: pipe duration takes no argument');
  assert.equal(failure('{{ .labels }}'), '4: .labels needs a name');
  assert.equal(failure('{{ .value.x }}'), '4: .value has no field x');
  assert.equal(failure('abc {{ .value '), '5: unclosed {{');
  assert.equal(failure('x'.repeat(5000)), '1: template is longer than 4096 characters');
});

test('a compiled template is frozen and rendering has no side effects', () => {
  const t = compileTemplate('{{ .labels.pod_uid }}');
  assert.ok(Object.isFrozen(t));
  const before = JSON.stringify(data);
  t.render(data);
  assert.equal(JSON.stringify(data), before);
});

// Loader tests over the bad-input corpus (test/rules/fixtures/bad): every hostile or broken file gets
// one exact, located error (file:line:col: path: message, with its hint and code), returns fast, and
// rejects the whole set so nothing is half-applied.
import { test } from 'node:test';
import { z } from 'zod';
import assert from 'node:assert/strict';
import {
  mkdtempSync,
  openSync,
  ftruncateSync,
  closeSync,
  rmSync,
  copyFileSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadRules, loadRuleSet, ruleFilesOf } from '../../src/rules/load.ts';
import { parseRuleFile, MAX_FILE_BYTES } from '../../src/rules/parse/parse-file.ts';
import { ACTIONS, ACTION_TYPES } from '../../src/actions/registry.ts';
import { DurationSchema, type ActionCatalog } from '../../src/rules/parse/schema.ts';
import { parseDuration } from '../../src/rules/compile/units.ts';
import { TriplineError } from '../../src/errors.ts';

const here = relative(process.cwd(), import.meta.dirname);
const bad = join(here, 'fixtures', 'bad');
const rulesDir = join(import.meta.dirname, '..', '..', 'rules');

/** Loads one path; returns its errors as `message | hint | code` lines and asserts nothing loaded. */
function errorsOf(path: string): string[] {
  const t = Date.now();
  const r = loadRules([path], { actions: ACTIONS });
  assert.ok(Date.now() - t < 5000, `loading ${path} took ${Date.now() - t} ms`);
  assert.equal(r.ruleSet, undefined, 'a set with errors yields no rule set');
  assert.deepEqual(r.tests, []);
  for (const f of r.files)
    if (f.errors.length)
      assert.deepEqual([f.rules.length, f.silences.length, f.inhibitions.length, f.tests.length], [0, 0, 0, 0]);
  return r.errors.map((e) => `${e.message} | ${e.hint} | ${e.code}`);
}

const cases: [string, string[]][] = [
  [
    'wrong-type.yaml',
    [
      `${bad}/wrong-type.yaml:6:13: spec.severity: "loud" is not one of "info", "warning", "critical" | one of: info, warning, critical | RULE_ERR_SCHEMA`,
      `${bad}/wrong-type.yaml:7:23: spec.max_trips_per_hour: expected a number, got string "ten" | write a number here | RULE_ERR_SCHEMA`,
    ],
  ],
  [
    'unknown-key.yaml',
    [`${bad}/unknown-key.yaml:9:5: spec.when.windw: unknown key "windw" | did you mean "window"? | RULE_ERR_SCHEMA`],
  ],
  [
    'duplicate-key.yaml',
    [
      `${bad}/duplicate-key.yaml:10:5: duplicate key "window" | a key may appear once per mapping: remove or merge the other one | RULE_ERR_DUPLICATE`,
    ],
  ],
  [
    'duplicate-names',
    [
      `${bad}/duplicate-names/b.yaml:4:9: metadata.name: duplicate Rule name "same-name" | first defined at ${bad}/duplicate-names/a.yaml:4:9; names are unique across the rule set | RULE_ERR_DUPLICATE`,
    ],
  ],
  [
    'empty.yaml',
    [
      `${bad}/empty.yaml:1:1: empty file: no YAML documents | add a document (apiVersion: tripline.dev/v1, kind: Rule, ...) or delete the file | RULE_ERR_FILE`,
    ],
  ],
  [
    'binary.yaml',
    [
      `${bad}/binary.yaml:3:1: binary file (NUL byte): not a YAML text file | rule files are UTF-8 YAML text; remove this file from the rules folder | RULE_ERR_FILE`,
    ],
  ],
  [
    'invalid-utf8.yaml',
    [`${bad}/invalid-utf8.yaml:4:12: not valid UTF-8 text | save the file as UTF-8 | RULE_ERR_FILE`],
  ],
  [
    'alias-bomb.yaml',
    [
      `${bad}/alias-bomb.yaml:2:8: YAML aliases expand past 100 nodes (an alias bomb?) | write the values out instead of nesting aliases | RULE_ERR_SYNTAX`,
    ],
  ],
  [
    'deep-nesting.yaml',
    [
      `${bad}/deep-nesting.yaml:4:39: nesting deeper than 32 levels | rule documents need far less; flatten the structure | RULE_ERR_FILE`,
    ],
  ],
  [
    'lookaround-regex.yaml',
    [
      `${bad}/lookaround-regex.yaml:7:21: spec.match.cgroup.regex: regex "web-(?!canary).*" uses lookaround | lookahead and lookbehind are not supported (label regexes run in linear time) | RULE_ERR_REGEX`,
    ],
  ],
  [
    'template-escape.yaml',
    [
      `${bad}/template-escape.yaml:8:14: spec.annotations.summary: template (at character 32): .labels.constructor.constructor reaches outside the template data | templates read only .labels.NAME, .stats.NAME, .value, .threshold, .rule, .severity | RULE_ERR_TEMPLATE`,
    ],
  ],
  [
    'threshold-no-unit.yaml',
    [
      `${bad}/threshold-no-unit.yaml:10:12: spec.when.above: syscall_latency_seconds p99 is in seconds: threshold 10 has no unit | write 10ms (units: us, ms, s, m) | RULE_ERR_UNIT`,
    ],
  ],
  [
    'wrong-unit.yaml',
    [
      `${bad}/wrong-unit.yaml:10:12: spec.when.above: runq_delay_over_threshold rate is per second: 20ms is not a rate | write 20/s (or 20/m per minute) | RULE_ERR_UNIT`,
    ],
  ],
  [
    'unknown-signal.yaml',
    [
      `${bad}/unknown-signal.yaml:8:13: spec.when.signal: unknown signal "runq_delay_second" | did you mean "runq_delay_seconds"? | RULE_ERR_SIGNAL`,
    ],
  ],
  [
    'prototype-key.yaml',
    [
      `${bad}/prototype-key.yaml:7:5: spec.labels.__proto__: key "__proto__" is reserved | rename it: __proto__, constructor and prototype cannot be keys (they would be dropped or reach the object prototype) | RULE_ERR_SCHEMA`,
    ],
  ],
  [
    'syntax.yaml',
    [
      `${bad}/syntax.yaml:5:1: YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ] | fix the YAML (indentation, quotes, brackets) | RULE_ERR_SYNTAX`,
    ],
  ],
];

for (const [name, want] of cases) {
  test(`bad input ${name}: located error, nothing loaded`, () => {
    assert.deepEqual(errorsOf(join(bad, name)), want);
  });
}

test('the corpus covers every fixture', () => {
  assert.deepEqual(readdirSync(bad).sort(), cases.map(([n]) => n).sort());
});

test('a 50 MB file is rejected from its size, fast, without being read', () => {
  const dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-`));
  try {
    const f = join(dir, 'huge.yaml');
    const fd = openSync(f, 'w');
    ftruncateSync(fd, 50 * 1024 * 1024); // sparse: 50 MiB of NUL bytes, which the size check must catch first
    closeSync(fd);
    assert.deepEqual(errorsOf(f), [
      `${f}:1:1: file is 50.0 MiB, over the 1 MiB limit for rule files | split it into several files, or check that this is a rule file | RULE_ERR_FILE`,
    ]);
    assert.equal(MAX_FILE_BYTES, 1024 * 1024);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one bad file rejects the whole set: the good rules beside it are not loaded', () => {
  const dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-`));
  try {
    for (const f of readdirSync(rulesDir)) copyFileSync(join(rulesDir, f), join(dir, f));
    assert.ok(loadRules([dir], { actions: ACTIONS }).ruleSet, 'the example rules alone load');
    copyFileSync(join(bad, 'wrong-unit.yaml'), join(dir, 'zz-wrong-unit.yaml'));
    const r = loadRules([dir], { actions: ACTIONS });
    assert.equal(r.ruleSet, undefined);
    assert.equal(r.errors.length, 1);
    assert.throws(
      () => loadRuleSet([dir], { actions: ACTIONS }),
      (e: unknown) => e instanceof TriplineError && e.code === 'RULE_ERR_UNIT' && e.cause instanceof AggregateError,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('all errors of a set are collected, across files and within one document', () => {
  const r = loadRules([join(bad, 'wrong-type.yaml'), join(bad, 'unknown-key.yaml'), join(bad, 'wrong-unit.yaml')], {
    actions: ACTIONS,
  });
  assert.deepEqual(
    r.errors.map((e) => e.code),
    ['RULE_ERR_SCHEMA', 'RULE_ERR_SCHEMA', 'RULE_ERR_SCHEMA', 'RULE_ERR_UNIT'],
  );
});

test('the example rules load into a frozen rule set with base units', () => {
  const { ruleSet, tests } = loadRuleSet([rulesDir], { actions: ACTIONS });
  const names = ruleSet.rules.map((r) => r.name).sort();
  assert.deepEqual(names, [
    'blockio-latency',
    'cpu-throttling',
    'http-errors',
    'http-latency',
    'pg-query-latency',
    'runq-latency',
    'syscall-latency',
    'tcp-connect-latency',
    'tcp-retransmits',
  ]);
  const cpu = ruleSet.rules.find((r) => r.name === 'cpu-throttling')!;
  assert.ok(
    Object.isFrozen(ruleSet) && Object.isFrozen(cpu) && Object.isFrozen(cpu.when) && Object.isFrozen(cpu.actions[1]),
  );
  assert.deepEqual(cpu.when, {
    any: [
      {
        signal: 'runq_delay_over_threshold',
        stat: 'rate',
        windowMs: 30000,
        op: 'above',
        threshold: 20,
        thresholdText: '20/s',
      },
      {
        signal: 'cpu_throttled_periods',
        ratioTo: 'cpu_periods',
        stat: 'increase',
        windowMs: 30000,
        op: 'above',
        threshold: 0.2,
        resolveThreshold: 0.1,
        thresholdText: '20%',
      },
      {
        signal: 'runq_delay_seconds',
        stat: 'p99',
        windowMs: 30000,
        op: 'above',
        threshold: 0.02,
        resolveThreshold: 0.01,
        thresholdText: '20ms',
      },
    ],
  });
  assert.deepEqual(cpu.actions[1], {
    type: 'scale',
    target: 'auto',
    step: '+1',
    max: 10,
    cooldownMs: 600000,
    dryRun: false,
    whenCause: ['limit-bound'],
    verifyMs: 120000,
    restore: true,
    restoreAfterMs: 600000,
    approval: 'none',
    approvalTimeoutMs: 900000,
  });
  assert.deepEqual(cpu.capture, {
    probes: ['runqslower', 'offcpu', 'profile'],
    durationMs: 10000,
    options: {},
    top: 3,
  });
  assert.equal(cpu.source.line, 10);
  const cpuTest = tests.find((t) => t.name === 'cpu-throttling')!;
  assert.equal(cpuTest.spec.interval, '1s');
  assert.deepEqual(ruleFilesOf(cpuTest), [join(rulesDir, 'cpu-throttling.yaml')]);
  assert.deepEqual(cpuTest.positions['spec.expect[1].incidents[0]'], { line: 61, col: 11 });
});

test('documents: several per file, Silence and Inhibition, empty documents between separators', () => {
  const text = [
    'apiVersion: tripline.dev/v1',
    'kind: Silence',
    'metadata: {name: maintenance}',
    'spec: {matchers: {rule: cpu-throttling, cgroup: {regex: "/kubepods/.*"}}, starts_at: "2026-11-29T02:00:00Z", ends_at: "2026-11-29T03:00:00Z", author: ops, comment: node drain}',
    '---',
    '---',
    'apiVersion: tripline.dev/v1',
    'kind: Inhibition',
    'metadata: {name: node-saturated}',
    'spec: {source_match: {rule: node-cpu}, target_match: {rule: cpu-throttling}, equal: [host]}',
    '',
  ].join('\n');
  const f = parseRuleFile('x.yaml', text, { actions: ACTIONS });
  assert.deepEqual(f.errors, []);
  assert.deepEqual(f.silences[0], {
    id: 'maintenance',
    matchers: { rule: { op: 'equals', value: 'cpu-throttling' }, cgroup: { op: 'regex', pattern: '/kubepods/.*' } },
    startsAt: Date.parse('2026-11-29T02:00:00Z'),
    endsAt: Date.parse('2026-11-29T03:00:00Z'),
    author: 'ops',
    comment: 'node drain',
    source: { file: 'x.yaml', line: 3, column: 18 },
  });
  assert.deepEqual(f.inhibitions[0].equal, ['host']);
});

/** `"a", "b"`: a list as error messages quote it (the action types come from the registry, not from this file). */
const quoted = (words: readonly string[]): string => words.map((w) => JSON.stringify(w)).join(', ');

/** Errors of one document given as text, as `line:col: path: message | hint`. */
function docErrors(spec: string, kind = 'Rule'): string[] {
  const f = parseRuleFile(
    't.yaml',
    `apiVersion: tripline.dev/v1\nkind: ${kind}\nmetadata: {name: t}\nspec:\n${spec}\n`,
    { actions: ACTIONS },
  );
  return f.errors.map((e) => `${e.message.replace(/^t\.yaml:/, '')} | ${e.hint}`);
}

test('header errors: apiVersion, kind, metadata.name', () => {
  assert.deepEqual(
    parseRuleFile('t.yaml', 'apiVersion: v1\nkind: Rule\n', { actions: ACTIONS }).errors.map((e) => e.message),
    ['t.yaml:1:13: apiVersion: unsupported apiVersion "v1"'],
  );
  assert.deepEqual(
    parseRuleFile('t.yaml', 'apiVersion: tripline.dev/v1\nkind: Rulle\n', { actions: ACTIONS }).errors.map(
      (e) => `${e.message} | ${e.hint}`,
    ),
    ['t.yaml:2:7: kind: unknown kind "Rulle" | did you mean "Rule"?'],
  );
  assert.deepEqual(
    parseRuleFile(
      't.yaml',
      'apiVersion: tripline.dev/v1\nkind: Rule\nmetadata: {name: Bad_Name}\nspec: {when: {signal: tcp_retransmits, stat: rate, window: 1m, above: 1/s}}\n',
      { actions: ACTIONS },
    ).errors.map((e) => e.message),
    [
      't.yaml:3:18: metadata.name: expected a lowercase name of letters, digits and -, at most 63 characters (like cpu-throttling), got string "Bad_Name"',
    ],
  );
  assert.deepEqual(
    parseRuleFile('t.yaml', '- a\n- b\n', { actions: ACTIONS }).errors.map((e) => e.message),
    ['t.yaml:1:1: a document must be a mapping, got a list'],
  );
});

test('condition shape errors are located and explained', () => {
  assert.deepEqual(docErrors('  when: {signal: tcp_retransmits, window: 1m, above: 1/s}'), [
    '5:9: spec.when: a condition on a signal needs a stat | add stat: p99 (or p50, p90, p95, p999, mean, max, min, last, rate, increase, count)',
  ]);
  assert.deepEqual(docErrors('  when: {signal: tcp_retransmits, stat: p99, window: 1m, above: 1ms}'), [
    '5:41: spec.when.stat: stat p99 needs a histogram, but tcp_retransmits is a counter | use one of: rate, increase',
  ]);
  assert.deepEqual(docErrors('  when: {signal: tcp_retransmits, stat: rate, window: 1m, above: 1/s, below: 2/s}'), [
    '5:9: spec.when: a condition needs exactly one of above or below | write above: 10ms (fires when higher) or below: 10ms (fires when lower)',
  ]);
  assert.deepEqual(
    docErrors('  when: {ratio: {of: cpu_throttled_periods, to: cpu_periods}, window: 30s, above: 0.2}'),
    ['5:83: spec.when.above: cpu_throttled_periods / cpu_periods is a ratio: threshold 0.2 has no unit | write 20%'],
  );
  assert.deepEqual(
    docErrors('  when: {ratio: {of: cpu_throttled_periods, to: runq_delay_seconds}, window: 30s, above: 20%}'),
    [
      '5:49: spec.when.ratio.to: a ratio divides counters, but runq_delay_seconds is a histogram | use two counters, e.g. of: cpu_throttled_periods, to: cpu_periods',
    ],
  );
  assert.deepEqual(
    docErrors('  when: {signal: runq_delay_seconds, stat: p99, window: 30s, above: 10ms, resolve_below: 20ms}'),
    [
      '5:90: spec.when.resolve_below: resolve_below 20ms is past the firing threshold 10ms | resolve_below must be at most above',
    ],
  );
  assert.deepEqual(docErrors('  when: {signal: runq_delay_seconds, stat: p99, window: 2h, above: 10ms}'), [
    '5:57: spec.when.window: window 2h is outside 1s..1h | write a window between 1s and 1h',
  ]);
  assert.deepEqual(
    docErrors('  when: {all: [{signal: tcp_retransmits, stat: rate, window: 1m, above: 1/s}], signal: x}'),
    ['5:80: spec.when.signal: signal cannot sit beside all | move it into one of the conditions under all'],
  );
});

test('all/any nest to a bounded depth', () => {
  const leaf = '{signal: tcp_retransmits, stat: rate, window: 1m, above: 1/s}';
  let w = leaf;
  for (let i = 0; i < 9; i++) w = `{any: [${w}]}`;
  assert.deepEqual(
    docErrors(`  when: ${w}`).map((e) => e.split(': ').slice(1).join(': ')),
    [
      'spec.when.any[0].any[0].any[0].any[0].any[0].any[0].any[0].any: all/any nested deeper than 8 levels | flatten the conditions',
    ],
  );
});

test('labels in group_by and match must exist on the signals', () => {
  assert.deepEqual(
    docErrors(
      '  group_by: [pod]\n  match: {syscal: read}\n  when: {signal: syscall_latency_seconds, stat: p99, window: 1m, above: 10ms}',
    ),
    [
      '5:14: spec.group_by[0]: group_by label "pod" is not a label of syscall_latency_seconds | labels are: syscall',
      '6:11: spec.match.syscal: label "syscal" is not a label of syscall_latency_seconds | did you mean "syscall"?',
    ],
  );
});

test('actions, mute and capture are validated', () => {
  assert.deepEqual(
    docErrors('  when: {signal: tcp_retransmits, stat: rate, window: 1m, above: 1/s}\n  actions: [{type: slak}]'),
    [`6:20: spec.actions[0].type: "slak" is not one of ${quoted(ACTION_TYPES)} | did you mean "slack"?`],
  );
  assert.deepEqual(
    docErrors(
      "  when: {signal: tcp_retransmits, stat: rate, window: 1m, above: 1/s}\n  actions: [{type: scale, step: '2'}]",
    ),
    ["6:33: spec.actions[0].step: expected a step like '+1' or 'x1.5', got string \"2\" | see docs/rules.md"],
  );
  assert.deepEqual(
    docErrors(
      '  when: {signal: tcp_retransmits, stat: rate, window: 1m, above: 1/s}\n  actions: [{type: webhook, url: "https://h/x", secret: abc}]',
    ),
    [
      '6:49: spec.actions[0].secret: unknown key "secret" | allowed keys here: type, url, secret_env, timeout, headers, headers_from_env',
    ],
  );
  assert.deepEqual(
    docErrors(
      '  when: {signal: tcp_retransmits, stat: rate, window: 1m, above: 1/s}\n  mute: [{cron: "0 25 * * *", duration: 1h, timezone: Mars/Olympus}]',
    ),
    [
      '6:17: spec.mute[0].cron: "0 25 * * *" is not a cron expression | five fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * 0" for Sundays 02:00',
      '6:55: spec.mute[0].timezone: unknown time zone "Mars/Olympus" | use an IANA name like Europe/Paris or UTC',
    ],
  );
  assert.deepEqual(
    docErrors(
      '  when: {signal: tcp_retransmits, stat: rate, window: 1m, above: 1/s}\n  capture: {probes: [offcpu], duraton: 5s}',
    ),
    ['6:31: spec.capture.duraton: unknown key "duraton" | did you mean "duration"?'],
  );
  assert.deepEqual(
    docErrors('  labels: {team: 5}\n  when: {signal: tcp_retransmits, stat: rate, window: 1m, above: 1/s}'),
    ['5:18: spec.labels.team: expected a string (quote numbers: "500"), got number 5 | write a string (quote it)'],
  );
});

test('actions are validated by the injected catalog: its types, its schemas, its conversions', () => {
  // The rules layer knows no action: whatever catalog the caller passes decides what a rule may write.
  const pager = z
    .strictObject({ type: z.literal('pager'), to: z.string(), after: DurationSchema.default('1m') })
    .transform((a) => ({ type: a.type, to: a.to, afterMs: parseDuration(a.after) }));
  const actions = { pager: { spec: pager } };
  const text = (a: string): string =>
    `apiVersion: tripline.dev/v1\nkind: Rule\nmetadata: {name: t}\nspec:\n  when: {signal: tcp_retransmits, stat: rate, window: 1m, above: 1/s}\n  actions: [${a}]\n`;
  const ok = parseRuleFile('t.yaml', text('{type: pager, to: ops}'), { actions });
  assert.deepEqual(ok.errors, []);
  assert.deepEqual(ok.rules[0].actions, [{ type: 'pager', to: 'ops', afterMs: 60_000 }]);
  const errs = (a: string, catalog: ActionCatalog = actions): string[] =>
    parseRuleFile('t.yaml', text(a), { actions: catalog }).errors.map((e) => `${e.message} | ${e.hint}`);
  assert.deepEqual(errs('{type: pager, to: ops, aftr: 5m}'), [
    't.yaml:6:36: spec.actions[0].aftr: unknown key "aftr" | did you mean "after"?',
  ]);
  assert.deepEqual(errs('{type: pagr, to: ops}'), [
    't.yaml:6:20: spec.actions[0].type: "pagr" is not one of "pager" | did you mean "pager"?',
  ]);
  assert.deepEqual(errs('{type: slack}'), [
    't.yaml:6:20: spec.actions[0].type: "slack" is not one of "pager" | one of: pager',
  ]);
  assert.deepEqual(errs('{type: no-such-action}', ACTIONS), [
    `t.yaml:6:20: spec.actions[0].type: "no-such-action" is not one of ${quoted(ACTION_TYPES)} | one of: ${ACTION_TYPES.join(', ')}`,
  ]);
});

test('missing keys are reported at the mapping that lacks them', () => {
  assert.deepEqual(docErrors('  severity: info'), [
    '5:3: spec.when: missing required key "when" | add when: (see docs/rules.md)',
  ]);
});

test('RuleTest checks: series notation, buckets, labels, rule files', () => {
  const base = (input: string): string =>
    `  rule_files: [../../../rules/runq-latency.yaml]\n  input:\n${input}\n  expect: [{at: 1m, incidents: []}]`;
  assert.deepEqual(docErrors(base("    - {signal: tcp_retransmits, values: '0+1'}"), 'RuleTest'), [
    '7:41: spec.input[0].values: series token "0+1" has a step but no count | write 0+1x10 for 11 values',
  ]);
  assert.deepEqual(docErrors(base("    - {signal: runq_delay_seconds, values: '1 2'}"), 'RuleTest'), [
    "7:36: spec.input[0].values: runq_delay_seconds is a histogram: it takes buckets, not values | write buckets: {'5ms': '0+1x60', '+Inf': '0+2x60'} (cumulative counts per upper bound)",
  ]);
  assert.deepEqual(
    docErrors(
      base("    - {signal: runq_delay_seconds, labels: {zzz: x}, buckets: {'5ms': '1 2', 'fast': '3 4'}}"),
      'RuleTest',
    ),
    [
      '7:45: spec.input[0].labels.zzz: label "zzz" is not a label of runq_delay_seconds | its labels are: cgroup, cgroup_id, container, container_id, namespace, pod, pod_uid, qos, workload',
      "7:78: spec.input[0].buckets.fast: bucket bound \"fast\" is not a number or a duration | write bounds like '5ms', '0.005' or '+Inf'",
      "7:63: spec.input[0].buckets: buckets need a '+Inf' bound (the total count) | add '+Inf': <series>",
    ],
  );
});

test("templates may read only labels the rule's incidents carry", () => {
  assert.deepEqual(
    docErrors(
      "  labels: {team: a}\n  annotations: {summary: '{{ .labels.containr }} {{ .labels.team }} {{ .labels.rule }} {{ .labels.pod_uid }}'}\n  when: {signal: tcp_retransmits, stat: rate, window: 1m, above: 1/s}",
    ),
    [
      '6:26: spec.annotations.summary: template reads .labels.containr, which no incident of this rule has | did you mean "container"?',
    ],
  );
});

test('prototype keys are refused anywhere, never silently dropped', () => {
  assert.deepEqual(
    docErrors(
      '  when: {signal: tcp_retransmits, stat: rate, window: 1m, above: 1/s}\n  capture: {options: {constructor: {a: 1}}}',
    ),
    [
      '6:23: spec.capture.options.constructor: key "constructor" is reserved | rename it: __proto__, constructor and prototype cannot be keys (they would be dropped or reach the object prototype)',
    ],
  );
});

test('mutated rule files never throw or hang: each parse returns a result (fuzz, fixed seed)', () => {
  const base = readFileSync(join(rulesDir, 'cpu-throttling.yaml'), 'utf8');
  let seed = 0x9e3779b9;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return seed % n;
  };
  const bits = [
    '[',
    ']',
    '{',
    '}',
    ':',
    '- ',
    '\t',
    '"',
    "'",
    '&a ',
    '*a',
    '!!binary ',
    '%YAML 1.1\n',
    '\n',
    '#',
    '|',
    '>',
    '? ',
    '---\n',
    '...\n',
    '\0',
    '\uFFFD',
    '<<: ',
    '~',
    '1e309',
    'ms',
    '/s',
    '%',
  ];
  let rejected = 0;
  for (let i = 0; i < 400; i++) {
    let t = base;
    for (let k = 1 + rnd(4); k > 0; k--) {
      const at = rnd(t.length);
      switch (rnd(3)) {
        case 0:
          t = t.slice(0, at) + bits[rnd(bits.length)] + t.slice(at);
          break;
        case 1:
          t = t.slice(0, at) + t.slice(at + 1 + rnd(20));
          break;
        default: {
          const lines = t.split('\n');
          const l = rnd(lines.length);
          lines.splice(rnd(lines.length), 0, lines[l]);
          t = lines.join('\n');
        }
      }
    }
    const start = performance.now();
    const f = parseRuleFile('fuzz.yaml', Buffer.from(t), { actions: ACTIONS });
    assert.ok(performance.now() - start < 2000, `parse took ${performance.now() - start} ms on:\n${t}`);
    if (f.errors.length) {
      rejected++;
      assert.equal(f.rules.length, 0);
      for (const e of f.errors) assert.match(e.message, /^fuzz\.yaml:\d+:\d+: /);
    }
  }
  assert.ok(rejected > 100, `only ${rejected} of 400 mutations were rejected`);
});

test('a test whose rule file is missing, or whose expected rule is not in it, is an error', () => {
  const dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-`));
  try {
    copyFileSync(join(rulesDir, 'runq-latency.yaml'), join(dir, 'runq-latency.yaml'));
    const t = (files: string, rule: string): string =>
      `apiVersion: tripline.dev/v1\nkind: RuleTest\nmetadata: {name: t}\nspec:\n  rule_files: [${files}]\n  input: [{signal: tcp_retransmits, values: '0+1x10'}]\n  expect: [{at: 5s, incidents: [{rule: ${rule}}]}]\n`;
    writeFileSync(join(dir, 'a.test.yaml'), t('nope.yaml', 'runq-latency'));
    assert.deepEqual(
      loadRules([join(dir, 'a.test.yaml')], { actions: ACTIONS }).errors.map((e) => e.message),
      [`${dir}/a.test.yaml:5:16: spec.rule_files[0]: nope.yaml does not exist (relative to ${dir})`],
    );
    writeFileSync(join(dir, 'a.test.yaml'), t('runq-latency.yaml', 'runq-latncy'));
    assert.deepEqual(
      loadRules([dir], { actions: ACTIONS }).errors.map((e) => `${e.message} | ${e.hint}`),
      [
        `${dir}/a.test.yaml:7:33: spec.expect[0].incidents[0].rule: rule "runq-latncy" is not in the test's rule_files | rules there: runq-latency`,
      ],
    );
    // The rule file is read even when it is not part of the checked set.
    assert.equal(loadRules([join(dir, 'a.test.yaml')], { actions: ACTIONS }).errors.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('scale steps, causes and group_by are checked where a typo would silently change behaviour', () => {
  const w = '  when: {signal: tcp_retransmits, stat: rate, window: 1m, above: 1/s}\n';
  assert.deepEqual(docErrors(`${w}  actions: [{type: scale, when_cause: [limit_bound]}]`), [
    '6:40: spec.actions[0].when_cause[0]: "limit_bound" is not one of "limit-bound", "contention", "self-contention", "lock-contention", "io-bound", "syscall-storm", "memory-pressure", "app-bound", "unknown", "any" | did you mean "limit-bound"?',
  ]);
  assert.deepEqual(docErrors(`${w}  actions: [{type: scale, step: x1}]`), [
    '6:33: spec.actions[0].step: a multiplier must be above 1, like \'x1.5\', got string "x1" | see docs/rules.md',
  ]);
  assert.deepEqual(docErrors(`  group_by: [cgroup, cgroup]\n${w}`), [
    '5:22: spec.group_by[1]: group_by lists "cgroup" twice | list each label once',
  ]);
});

test('expected values in tests carry a valid unit', () => {
  assert.deepEqual(
    docErrors(
      "  rule_files: [../../../rules/runq-latency.yaml]\n  input: [{signal: tcp_retransmits, values: '1 2'}]\n  expect: [{at: 1m, incidents: [{rule: runq-latency, value: 12 ms/s}]}]",
      'RuleTest',
    ),
    [
      '7:61: spec.expect[0].incidents[0].value: "12 ms/s" is not a number with a unit | write the value with its unit (30/s, 12ms, 45%) or in base units',
    ],
  );
});

test('the engine can leave unit tests out of its rule set', () => {
  const dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-`));
  try {
    copyFileSync(join(rulesDir, 'runq-latency.yaml'), join(dir, 'runq-latency.yaml'));
    writeFileSync(
      join(dir, 'broken.test.yaml'),
      'apiVersion: tripline.dev/v1\nkind: RuleTest\nmetadata: {name: b}\nspec: {}\n',
    );
    assert.equal(loadRules([dir], { actions: ACTIONS }).ruleSet, undefined, 'check and test read the broken test');
    const r = loadRules([dir], { tests: false, actions: ACTIONS });
    assert.deepEqual([r.errors.length, r.ruleSet?.rules.length, r.tests.length], [0, 1, 0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('type errors speak YAML: lists, mappings, durations with their unit', () => {
  const w = '  when: {signal: tcp_retransmits, stat: rate, window: 1m, above: 1/s}\n';
  assert.deepEqual(docErrors(`${w}  group_by: cgroup`), [
    '6:13: spec.group_by: expected a list, got string "cgroup" | write a list: [a, b] or one "- item" per line',
  ]);
  assert.deepEqual(docErrors('  when: []'), [
    '5:9: spec.when: expected a mapping, got a list | write a mapping: {key: value} or one "key: value" per line',
  ]);
  assert.deepEqual(docErrors('  when: {signal: tcp_retransmits, stat: rate, window: 30, above: 1/s}'), [
    '5:55: spec.when.window: expected a duration like 250us, 5ms, 1.5s, 2m, 4h, got number 30 | write 30s (durations need a unit: us, ms, s, m, h, d)',
  ]);
  assert.deepEqual(
    docErrors(`${w}  match: {cgroup: {regx: "a"}}`),
    ['6:20: spec.match.cgroup.regx: unknown key "regx" | did you mean "regex"?'],
    'no second error for the same object',
  );
});

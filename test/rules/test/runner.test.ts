import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRuleTests } from '../../../src/rules/test/runner.ts';
import { ACTIONS } from '../../../src/actions/registry.ts';

const dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-runner-`));
after(() => rmSync(dir, { recursive: true, force: true }));

const RULE = `apiVersion: tripline.dev/v1
kind: Rule
metadata:
  name: retrans
spec:
  group_by: [cgroup]
  labels: {team: net}
  when:
    signal: tcp_retransmits
    stat: rate
    window: 10s
    above: 10/s
  for: 5s
  cooldown: 0s
  actions:
    - type: slack
      channel: '#net{{ .labels.cgroup | upper }}'
    - type: scale
      cooldown: 3m
`;

/** A test of RULE: /a retransmits 20/s from 1s to 30s, then nothing. */
const testDoc = (expect: string): string => `apiVersion: tripline.dev/v1
kind: RuleTest
metadata:
  name: retrans
spec:
  rule_files: [retrans.yaml]
  input:
    - signal: tcp_retransmits
      labels: {cgroup: /a}
      values: '0+20x30 600x30'
  expect:
${expect}`;

function run(name: string, expect: string) {
  const d = join(dir, name);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d);
  writeFileSync(join(d, 'retrans.yaml'), RULE);
  writeFileSync(join(d, 'retrans.test.yaml'), testDoc(expect));
  return runRuleTests([d], { actions: ACTIONS });
}

test('a correct test passes: firing at 6s with value and plan (durations compared in ms), resolved when the rate over the window is back to 10/s (at 35 s: 5 of 10 s at 20/s)', () => {
  const { results, errors } = run(
    'ok',
    `    - at: 5s
      incidents: []
    - at: 6s
      incidents:
        - rule: retrans
          labels: {cgroup: /a}
          value: 20/s
          plan:
            probes: [tcp]
            actions:
              - type: slack
                channel: '#net/A'
              - type: scale
                step: '+1'
                cooldown: 3m
                dry_run: false
    - at: 34s
      incidents:
        - rule: retrans
          labels: {cgroup: /a}
    - at: 35s
      incidents:
        - rule: retrans
          status: resolved
          labels: {cgroup: /a, team: net}
    - at: 36s
      incidents: []
`,
  );
  assert.deepEqual(errors, []);
  assert.deepEqual(
    results.map((r) => [r.name, r.failures]),
    [['retrans', []]],
  );
});

test('each mismatch is reported at the line of its expectation', () => {
  const { results } = run(
    'bad',
    `    - at: 5s
      incidents:
        - rule: retrans
          labels: {cgroup: /a}
    - at: 6s
      incidents:
        - rule: retrans
          labels: {cgroup: /a}
          value: 25/s
          plan:
            probes: [tcp, offcpu]
            actions:
              - type: slack
              - type: scale
                cooldown: 5m
    - at: 20s
      incidents:
        - rule: retrans
          labels: {cgroup: /b}
`,
  );
  const f = join(dir, 'bad', 'retrans.test.yaml');
  assert.deepEqual(results[0].failures, [
    `${f}:14: at 5s: expected firing retrans{cgroup="/a"} got no incident of that rule`,
    `${f}:18: at 6s: firing retrans{cgroup="/a"} value 25/s: expected value 25/s got 20/s, expected plan probes [tcp, offcpu] got [tcp], expected plan scale cooldown: "5m" got 180000`,
    `${f}:29: at 20s: expected firing retrans{cgroup="/b"} got firing retrans{cgroup="/a", team="net"} value 20/s`,
    `${f}:27: at 20s: unexpected firing retrans{cgroup="/a", team="net"} value 20/s`,
  ]);
});

test('a test whose rule files do not load reports the load errors, nothing runs', () => {
  const { errors } = runRuleTests([join(dir, 'missing.test.yaml')], { actions: ACTIONS });
  assert.equal(errors.length, 1);
  assert.match(errors[0], /missing\.test\.yaml:1:1: no such file/);
});

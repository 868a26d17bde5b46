import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuleReloader, type ReloadResult } from '../../src/rules/reload.ts';
import { loadRuleSet } from '../../src/rules/load.ts';
import { ACTIONS } from '../../src/actions/registry.ts';
import { Evaluator } from '../../src/rules/evaluate/evaluate.ts';
import type { Tick } from '../../src/samples.ts';

const dir = mkdtempSync(join(tmpdir(), `tripline-test-${process.pid}-reload-`));
after(() => rmSync(dir, { recursive: true, force: true }));

const rule = (name: string, above: string, summary = 'hot') => `apiVersion: tripline.dev/v1
kind: Rule
metadata:
  name: ${name}
spec:
  group_by: [cgroup]
  when: {signal: tcp_retransmits, stat: rate, window: 1s, above: ${above}}
  annotations: {summary: ${summary}}
`;
const tickAt = (s: number): Tick => ({
  at: s * 1000,
  intervalMs: 1000,
  samples: [{ kind: 'counter', signal: 'tcp_retransmits', labels: { cgroup: '/a' }, delta: 50, total: 0 }],
});

test('a bad set is rejected whole: running rules and their state stay; a good set keeps state of unchanged rules', () => {
  const d = join(dir, 'manual');
  mkdirp(d);
  writeFileSync(join(d, 'a.yaml'), rule('keep', '10/s'));
  writeFileSync(join(d, 'b.yaml'), rule('change', '10/s'));
  const ev = new Evaluator(loadRuleSet([d], { actions: ACTIONS }).ruleSet, { host: 'h' });
  assert.equal(ev.tick(tickAt(0)).length, 2);
  const resolvedOnApply: string[] = [];
  const errors: string[] = [];
  const r = new RuleReloader(loadRuleSet([d], { actions: ACTIONS }).ruleSet, {
    paths: [d],
    actions: ACTIONS,
    apply: (rs) => {
      for (const i of ev.setRuleSet(rs, 500)) resolvedOnApply.push(`${i.rule}:${i.status}`);
    },
    onError: (errs) => errors.push(...errs.map((e) => e.code)),
  });
  assert.deepEqual(
    r.reload('signal'),
    { ok: true, changed: false, errors: [], reason: 'signal' },
    'same files: nothing applied',
  );

  // One good file and one broken file: nothing of it applies.
  writeFileSync(join(d, 'a.yaml'), rule('keep', '10/s', 'edited'));
  writeFileSync(join(d, 'b.yaml'), rule('change', '10 per second'));
  const bad = r.reload('signal');
  assert.equal(bad.ok, false);
  assert.equal(r.failures, 1);
  assert.deepEqual(errors, ['RULE_ERR_UNIT']);
  assert.deepEqual(
    ev.rules.map((x) => `${x.name}:${x.annotations.summary}`),
    ['keep:hot', 'change:hot'],
  );
  assert.equal(ev.firing().length, 2);

  // Fixed: `keep` changed only its annotation (same identity: stays firing, no re-alert); `change` changed its condition.
  writeFileSync(join(d, 'b.yaml'), rule('change', '20/s'));
  const good = r.reload('signal');
  assert.deepEqual([good.ok, good.changed, r.successes], [true, true, 1]);
  assert.deepEqual(resolvedOnApply, ['change:resolved']);
  assert.deepEqual(
    ev.rules.map((x) => `${x.name}:${x.annotations.summary}`),
    ['keep:edited', 'change:hot'],
  );
  const next = ev.tick(tickAt(1));
  assert.deepEqual(
    next.map((i) => `${i.rule}:${i.status}`),
    ['change:firing'],
    'keep did not re-alert',
  );
});

test('file changes reload once after a debounce, including a rename-replace by an editor', async () => {
  const d = join(dir, 'watch');
  mkdirp(d);
  writeFileSync(join(d, 'a.yaml'), rule('w', '10/s'));
  const results: ReloadResult[] = [];
  let applied = 0;
  const r = new RuleReloader(loadRuleSet([d], { actions: ACTIONS }).ruleSet, {
    paths: [d],
    actions: ACTIONS,
    debounceMs: 100,
    apply: () => {
      applied++;
    },
    onReload: (x) => results.push(x),
  });
  r.watch();
  try {
    for (let i = 1; i <= 5; i++) writeFileSync(join(d, 'a.yaml'), rule('w', `${10 + i}/s`));
    await waitFor(() => results.length >= 1);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(results.length, 1, 'a burst of writes reloads once');
    assert.equal(applied, 1);
    writeFileSync(join(d, '.a.yaml.swp'), rule('w', '99/s'));
    renameSync(join(d, '.a.yaml.swp'), join(d, 'a.yaml'));
    await waitFor(() => results.length >= 2);
    assert.equal(applied, 2);
    assert.match(readFileSync(join(d, 'a.yaml'), 'utf8'), /99\/s/);
    writeFileSync(join(d, 'notes.txt'), 'not a rule');
    await new Promise((res) => setTimeout(res, 400));
    assert.equal(results.length, 2, 'other files do not trigger a reload');
  } finally {
    r.close();
  }
});

function mkdirp(d: string): void {
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
}
async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

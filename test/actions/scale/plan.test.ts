import { test } from 'node:test';
import assert from 'node:assert/strict';
import { causeVerdict, parseStep, plan } from '../../../src/actions/scale/plan.ts';
import { hasCode } from '../../../src/errors.ts';

const base = { step: '+1', max: 5, cause: 'limit-bound' as const, whenCause: ['limit-bound'] };

test('steps: +N adds, xF multiplies and rounds up', () => {
  assert.deepEqual(parseStep('+2'), { op: 'add', n: 2 });
  assert.deepEqual(parseStep('x1.5'), { op: 'mul', f: 1.5 });
  assert.deepEqual(plan({ ...base, current: 2 }), { scale: true, from: 2, to: 3, via: 'replicas' });
  assert.deepEqual(plan({ ...base, current: 3, step: 'x1.5' }), { scale: true, from: 3, to: 5, via: 'replicas' });
  for (const bad of ['1', '+0', 'x1', 'x0.5', '-1', '+1.5', '']) {
    assert.throws(
      () => parseStep(bad),
      (e: unknown) => hasCode(e, 'ACTION_ERR_CONFIG'),
      bad,
    );
  }
});

test('max is never exceeded; at max there is no change and a reason', () => {
  for (let current = 0; current <= 8; current++) {
    for (const step of ['+1', '+3', 'x2', 'x1.5']) {
      const p = plan({ ...base, current, step });
      if (p.scale) assert.ok(p.to <= 5 && p.to > p.from, `${current} ${step} → ${p.to}`);
      else assert.ok(current >= 5, `${current} ${step} refused: ${p.reason}`);
    }
  }
  const p = plan({ ...base, current: 5 });
  assert.equal(p.scale, false);
  assert.match((p as { reason: string }).reason, /already at 5 replicas, the maximum is 5/);
});

test('an HPA: its minReplicas is the base, its maxReplicas bounds the step too', () => {
  assert.deepEqual(plan({ ...base, current: 2, hpa: { minReplicas: 3, maxReplicas: 10 } }), {
    scale: true,
    from: 3,
    to: 4,
    via: 'hpa-min',
  });
  const p = plan({ ...base, max: 10, current: 4, hpa: { minReplicas: 2, maxReplicas: 4 } });
  assert.equal(p.scale, false);
  assert.match((p as { reason: string }).reason, /maximum is 4 \(the HPA's maxReplicas\)/);
});

test('only an allowed diagnosis scales; "any" overrides; the reason is in plain words', () => {
  const c = plan({ ...base, current: 2, cause: 'contention' });
  assert.equal(c.scale, false);
  assert.match(
    (c as { reason: string }).reason,
    /diagnosis is contention: .*neighbours.*only when the cause is limit-bound/,
  );
  assert.match(causeVerdict(undefined, ['limit-bound'])!, /no diagnosis/);
  assert.equal(causeVerdict('contention', ['any']), undefined);
  assert.equal(causeVerdict('app-bound', ['limit-bound', 'app-bound']), undefined);
  assert.equal(causeVerdict('limit-bound', []), undefined, 'default is limit-bound');
  // Self-contention does not scale by default (its own threads outnumber its CPUs); a rule may opt in.
  assert.match(
    causeVerdict('self-contention', [])!,
    /diagnosis is self-contention: .*raise its CPU limit or shrink its thread pool/,
  );
  assert.equal(causeVerdict('self-contention', ['self-contention']), undefined);
  // The causes beyond the CPU do not scale by default; the message cites the diagnosis's lead line.
  assert.equal(
    causeVerdict('lock-contention', [], 'lock contention: 78% of off-CPU time in futex_wait ← locker'),
    'Did not scale: diagnosis is lock-contention (lock contention: 78% of off-CPU time in futex_wait ← locker): its threads wait for each other on a lock; more replicas or CPU would not shorten the queue. This rule scales only when the cause is limit-bound.',
  );
  for (const c of ['io-bound', 'syscall-storm', 'memory-pressure'] as const) assert.ok(causeVerdict(c, []));
});

import { test, before, after } from 'node:test';
import { skipOrFail } from '../../support/kernel.ts';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { openRedis } from '../../../src/redis-client.ts';
import { createScaleAction } from '../../../src/actions/scale/index.ts';
import { RetryableError } from '../../../src/actions/errors.ts';
import { MemoryStore } from '../../../src/actions/store-memory.ts';
import { RedisStore } from '../../../src/actions/store-redis.ts';
import type { ActionJob, ActionStore } from '../../../src/actions/types.ts';
import type { ScaleActionSpec } from '../../../src/actions/scale/spec.ts';
import type { Cause } from '../../../src/bundle/types.ts';
import { buildConfig } from '../../../src/config.ts';
import { startRedis } from '../../support/redis.ts';
import type { TestRedis } from '../../support/redis.ts';
import { FakeKube } from '../../support/fake-kube.ts';
import { Clock, bundle, context, incident, resolved } from '../slack/helpers.ts';
import { scaleSpecWith } from '../fixtures/scale.ts';

const kube = new FakeKube();
let redis: TestRedis | undefined;
let cfg: ReturnType<typeof buildConfig>;
const action = createScaleAction();

before(async () => {
  await kube.start();
  cfg = buildConfig({ kubernetes: { api_url: kube.url } }, {});
  try {
    redis = await startRedis();
  } catch {
    redis = undefined;
  }
});
after(async () => {
  await kube.stop();
  await redis?.stop();
  assert.deepEqual(kube.forbidden, [], 'every Kubernetes API call made is listed in src/kube/api-calls.ts');
});

let ns = 0;
/** A fresh namespace with a Deployment `web` of `replicas` and one pod; returns the namespace and the pod's uid. */
function deployment(replicas: number): { namespace: string; uid: string } {
  const namespace = `t${++ns}`;
  return { namespace, uid: kube.addDeployment(namespace, 'web', replicas, 1)[0] };
}

function spec(over: Partial<ScaleActionSpec> = {}): ScaleActionSpec {
  return scaleSpecWith(over);
}

function job(
  namespace: string,
  uid: string,
  s: ScaleActionSpec,
  over: { cause?: Cause; lead?: string; pod?: string; at?: number; dryRun?: boolean } = {},
): ActionJob<ScaleActionSpec> {
  const i = incident(over.pod ?? 'web-1', over.at ?? Date.parse('2026-11-25T14:00:00Z'), {
    target: { pod: { uid } },
    labels: { namespace, pod: over.pod ?? 'web-1' },
  });
  const b = bundle();
  const withCause = {
    ...b,
    findings: {
      ...b.findings,
      diagnosis: {
        ...b.findings.diagnosis!,
        cause: over.cause ?? 'limit-bound',
        ...(over.lead ? { lead: over.lead } : {}),
      },
    },
  };
  const slack = { type: 'slack' as const };
  return {
    id: `${i.key}|scale|firing`,
    event: 'firing',
    incident: i,
    bundle: withCause,
    spec: s,
    index: 1,
    actions: [slack, s],
    enqueuedAt: 0,
    dryRun: over.dryRun,
  };
}

const scalePatches = (namespace: string): ReturnType<FakeKube['patches']> =>
  kube.patches().filter((p) => p.path.includes(`/namespaces/${namespace}/`));

test("scales the pod's Deployment one step and tells the Slack thread", async () => {
  const { namespace, uid } = deployment(2);
  const ctx = context(cfg, {}, new Clock());
  const out = await action.execute(job(namespace, uid, spec()), ctx);
  assert.equal(out.status, 'delivered');
  assert.equal(kube.replicas.get(`deployments/${namespace}/web`), 3);
  const p = scalePatches(namespace);
  assert.equal(p.length, 1);
  assert.deepEqual(p[0].body, { spec: { replicas: 3 } });
  assert.equal(p[0].query.dryRun, undefined);
  assert.equal(ctx.notified.length, 1);
  assert.equal(ctx.notified[0].event, 'scaled');
  assert.equal(ctx.notified[0].detail?.kind, 'scaled');
  assert.match(String(ctx.notified[0].detail?.text), new RegExp(`Deployment/${namespace}/web from 2 to 3`));
  // Without an HPA the raised count is kept: the thread says so, and the resolution schedules no restore.
  assert.match(String(ctx.notified[0].detail?.text), /They stay after the incident/);
  // The decision cites the diagnosis it acted on.
  assert.match(String(ctx.notified[0].detail?.text), /Cause: limit-bound: /);
  const j = job(namespace, uid, spec());
  await action.execute({ ...j, event: 'resolved', incident: resolved(j.incident, Date.now()) }, ctx);
  assert.deepEqual(ctx.scheduled, []);
});

test('contention: no request to Kubernetes at all, and the reason goes to Slack', async () => {
  const { namespace, uid } = deployment(2);
  const ctx = context(cfg, {}, new Clock());
  const n = kube.calls.length;
  const lead = "contention: pid 4711 (backup.sh) in /other ran for 91% of the target's wait";
  const out = await action.execute(job(namespace, uid, spec(), { cause: 'contention', lead }), ctx);
  assert.equal(out.status, 'skipped');
  assert.equal(kube.calls.length, n);
  assert.equal(ctx.notified[0].detail?.kind, 'scale-skipped');
  assert.ok(String(ctx.notified[0].detail?.text).startsWith(`Did not scale: diagnosis is contention (${lead}): `));
  const any = await action.execute(
    job(namespace, uid, spec({ whenCause: ['any'] }), { cause: 'contention' }),
    context(cfg, {}, new Clock()),
  );
  assert.equal(any.status, 'delivered', '"any" overrides the diagnosis');
});

test('dry run: only dryRun=All PATCHes, nothing changes, the PATCH is reported', async () => {
  const { namespace, uid } = deployment(2);
  for (const j of [job(namespace, uid, spec({ dryRun: true })), job(namespace, uid, spec(), { dryRun: true })]) {
    const ctx = context(cfg, {}, new Clock());
    const out = await action.execute(j, ctx);
    assert.equal(out.status, 'dry-run');
    assert.equal(out.data?.path, `/apis/apps/v1/namespaces/${namespace}/deployments/web/scale`);
    assert.equal(out.data?.body, '{"spec":{"replicas":3}}');
    assert.equal(ctx.notified[0].detail?.kind, 'scale-dry-run');
  }
  const p = scalePatches(namespace);
  assert.equal(p.length, 2);
  assert.ok(p.every((x) => x.query.dryRun === 'All'));
  assert.equal(kube.replicas.get(`deployments/${namespace}/web`), 2);
});

test('cooldown: a second incident on the same workload within the cooldown makes no PATCH and says why', async () => {
  const { namespace, uid } = deployment(2);
  const clock = new Clock();
  const store = new MemoryStore(clock.now);
  await action.execute(job(namespace, uid, spec(), { pod: 'web-1' }), context(cfg, {}, clock, store));
  clock.t += 60_000;
  const ctx = context(cfg, {}, clock, store);
  const out = await action.execute(job(namespace, uid, spec(), { pod: 'web-2' }), ctx);
  assert.equal(out.status, 'skipped');
  assert.match(String(ctx.notified[0].detail?.text), /in its cooldown/);
  assert.equal(scalePatches(namespace).length, 1);
  clock.t += 300_000;
  const later = await action.execute(job(namespace, uid, spec(), { pod: 'web-3' }), context(cfg, {}, clock, store));
  assert.equal(later.status, 'delivered', 'after the cooldown it scales again');
  assert.equal(kube.replicas.get(`deployments/${namespace}/web`), 4);
});

test('max is never exceeded: capped step, then no PATCH at max', async () => {
  const { namespace, uid } = deployment(3);
  const clock = new Clock();
  const s = spec({ step: 'x2', max: 4, cooldownMs: 1 });
  await action.execute(job(namespace, uid, s, { pod: 'a' }), context(cfg, {}, clock));
  assert.equal(kube.replicas.get(`deployments/${namespace}/web`), 4);
  const ctx = context(cfg, {}, clock);
  const out = await action.execute(job(namespace, uid, s, { pod: 'b' }), ctx);
  assert.equal(out.status, 'skipped');
  assert.match(String(ctx.notified[0].detail?.text), /already at 4 replicas, the maximum is 4/);
  assert.equal(scalePatches(namespace).length, 1);
});

test('an HPA on the Deployment: its minReplicas is raised (bounded), replicas are left to it', async () => {
  const { namespace, uid } = deployment(2);
  kube.addHpa(namespace, 'web-hpa', 'web', 2, 3);
  const ctx = context(cfg, {}, new Clock());
  await action.execute(job(namespace, uid, spec({ step: '+5', max: 10 })), ctx);
  const p = scalePatches(namespace);
  assert.equal(p.length, 1);
  assert.equal(p[0].path, `/apis/autoscaling/v2/namespaces/${namespace}/horizontalpodautoscalers/web-hpa`);
  assert.deepEqual(p[0].body, { spec: { minReplicas: 3 } });
  assert.equal(kube.replicas.get(`deployments/${namespace}/web`), 2);
  assert.match(String(ctx.notified[0].detail?.text), /minReplicas to 3/);
});

test('a PATCH that fails is retried with the same absolute count (no double step)', async () => {
  const { namespace, uid } = deployment(2);
  const clock = new Clock();
  const store = new MemoryStore(clock.now);
  kube.fail(new RegExp(`PATCH .*/namespaces/${namespace}/deployments/web/scale`), 500);
  const j = job(namespace, uid, spec());
  await assert.rejects(action.execute(j, context(cfg, {}, clock, store)), (e: unknown) => e instanceof RetryableError);
  await action.execute(j, context(cfg, {}, clock, store));
  await action.execute(j, context(cfg, {}, clock, store));
  const bodies = scalePatches(namespace).map((p) => p.body.spec.replicas);
  assert.deepEqual(bodies, [3, 3]);
  assert.equal(kube.replicas.get(`deployments/${namespace}/web`), 3);
});

for (const backend of ['memory', 'redis'] as const) {
  test(`two hosts with the same incident key share one ${backend} store: one PATCH`, async (t) => {
    if (backend === 'redis' && !redis) {
      skipOrFail(t, 'redis-server is not available');
      return;
    }
    const { namespace, uid } = deployment(2);
    const clock = new Clock();
    let stores: ActionStore[];
    const conns: Redis[] = [];
    if (backend === 'redis') {
      const prefix = `tripline-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
      for (let k = 0; k < 2; k++) conns.push(openRedis(redis!.url, 'commands'));
      stores = conns.map((c) => new RedisStore(c, prefix));
    } else {
      const shared = new MemoryStore(clock.now);
      stores = [shared, shared];
    }
    try {
      // Both hosts saw the trip at slightly different times (different incident ids, same key).
      const a = job(namespace, uid, spec(), { at: clock.t });
      const b = job(namespace, uid, spec(), { at: clock.t + 40 });
      assert.equal(a.incident.key, b.incident.key);
      const outs = await Promise.all([
        action.execute(a, context(cfg, {}, clock, stores[0])),
        action.execute(b, context(cfg, {}, clock, stores[1])),
      ]);
      assert.deepEqual(outs.map((o) => o.status).sort(), ['delivered', 'skipped']);
      assert.equal(scalePatches(namespace).length, 1);
      assert.equal(kube.replicas.get(`deployments/${namespace}/web`), 3);
    } finally {
      for (const c of conns) c.disconnect();
    }
  });
}

test('verification: a verify job at the end of the window; without a signal to re-read it judges by the resolution', async () => {
  const clock = new Clock();
  const store = new MemoryStore(clock.now);
  const one = deployment(2);
  const ctx = context(cfg, {}, clock, store);
  const j = job(one.namespace, one.uid, spec({ verifyMs: 120_000 }));
  await action.execute(j, ctx);
  assert.deepEqual(
    ctx.scheduled.map((s) => [s.event, s.notBefore - clock.t, s.seq]),
    [['verify', 120_000, 'verify']],
  );
  // The rule resolves: the resolved event reaches the scale action, which records it for the verification.
  clock.t += 30_000;
  await action.execute({ ...j, event: 'resolved', incident: resolved(j.incident, clock.t) }, ctx);
  clock.t += 90_000;
  const out = await action.execute({ ...j, event: 'verify' }, ctx);
  assert.equal(out.data?.verdict, 'recovered');
  assert.deepEqual(
    ctx.notified.map((n) => [n.event, n.detail?.kind]),
    [
      ['scaled', 'scaled'],
      ['verified', 'recovered'],
    ],
  );
  assert.match(
    String(ctx.notified[1].detail?.text),
    /Recovered 2 min after scaling .* the incident resolved \(the signal could not be re-read: no probe side to ask\)/,
  );
  const again = await action.execute({ ...j, event: 'verify' }, ctx);
  assert.equal(again.status, 'skipped', 'reported once');

  const two = deployment(2);
  const ctx2 = context(cfg, {}, clock, store);
  const j2 = job(two.namespace, two.uid, spec({ verifyMs: 60_000 }), { pod: 'other', at: clock.t });
  await action.execute(j2, ctx2);
  clock.t += 60_000;
  const out2 = await action.execute({ ...j2, event: 'verify' }, ctx2);
  assert.equal(out2.data?.verdict, 'not-recovered');
  assert.equal(ctx2.notified.at(-1)?.event, 'verified');
  assert.match(String(ctx2.notified.at(-1)?.detail?.text), /Not recovered 1 min after scaling .* still breaching/);
});

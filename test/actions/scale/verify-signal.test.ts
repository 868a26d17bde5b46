// Verification that re-reads the signal: the scale action asks the probe side, over the real channel (the messages
// of src/split/messages.ts on a Unix socket pair), for the rule's value over the scaled workload's series; the
// probe side answers from the evaluator's windows. Recovered and not recovered with both values; the pending
// verification survives a restart (state file, Redis) and a late check says so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { Channel } from '../../../src/split/channel.ts';
import { NET_REPLIES, NET_TO_PROBE, PROBE_TO_NET } from '../../../src/split/messages.ts';
import { Evaluator } from '../../../src/rules/evaluate/evaluate.ts';
import type { SignalQuery, SignalReading } from '../../../src/signal-read.ts';
import { createScaleAction } from '../../../src/actions/scale/index.ts';
import type { ScaleActionSpec } from '../../../src/actions/scale/spec.ts';
import { seriesMatch } from '../../../src/actions/scale/verify.ts';
import { FileStore } from '../../../src/actions/store-file.ts';
import { RedisStore } from '../../../src/actions/store-redis.ts';
import type { ActionJob, ActionStore } from '../../../src/actions/types.ts';
import { openRedis } from '../../../src/redis-client.ts';
import { buildConfig } from '../../../src/config.ts';
import { FakeKube } from '../../support/fake-kube.ts';
import { startRedis, type TestRedis } from '../../support/redis.ts';
import { cond, hist, rule, ruleSet, tick } from '../../support/rule-fixtures.ts';
import { Clock, bundle, context, incident } from '../slack/helpers.ts';
import { uniqueName } from '../fixtures/incident.ts';
import { scaleSpecWith } from '../fixtures/scale.ts';

const kube = new FakeKube();
let redis: TestRedis;
let cfg: ReturnType<typeof buildConfig>;
const cleanup: (() => void)[] = [];

before(async () => {
  await kube.start();
  redis = await startRedis();
  cfg = buildConfig({ kubernetes: { api_url: kube.url } }, {});
});
after(async () => {
  for (const f of cleanup) f();
  await kube.stop();
  await redis.stop();
});

/** The probe side's evaluator and the network side's reader, joined by the channel. */
async function sides(): Promise<{ ev: Evaluator; read: (q: SignalQuery) => Promise<SignalReading> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tripline-sig-'));
  const server = createServer();
  server.listen(join(dir, 's'));
  await once(server, 'listening');
  const b = connect(join(dir, 's'));
  const [a] = (await once(server, 'connection')) as [Socket];
  await once(b, 'connect');
  cleanup.push(() => {
    a.destroy();
    b.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // p99 of the run-queue delay over 10 s above 5 ms, one incident per pod: the rule the incident tripped on.
  const ev = new Evaluator(
    ruleSet([rule({ name: 'cpu-throttling', groupBy: ['pod_uid'], when: cond({ windowMs: 10_000 }) })]),
    { host: 'node-a' },
  );
  const probe = new Channel(a, { inbound: NET_TO_PROBE, outbound: PROBE_TO_NET, replies: {} });
  probe.on('signal.read', (q) => ev.readSignal(q));
  const net = new Channel(b, { inbound: PROBE_TO_NET, outbound: NET_TO_PROBE, replies: NET_REPLIES });
  return { ev, read: async (q) => (await net.request('signal.read', q)) as SignalReading };
}

const SLOW = [0, 0, 0, 2, 8]; // most observations past 8 ms
const FAST = [10, 0, 0, 0, 0]; // all under 1 ms

/** Ticks `seconds` of run-queue delay samples for the series of `labels`, from `at` on. */
function feed(ev: Evaluator, at: number, seconds: number, labels: Record<string, string>, deltas: number[]): number {
  for (let s = 0; s < seconds; s++) ev.tick(tick(at + s * 1000, [hist('runq_delay_seconds', labels, deltas)]));
  return at + seconds * 1000;
}

function spec(): ScaleActionSpec {
  return scaleSpecWith({ whenCause: ['any'], verifyMs: 60_000 });
}

let ns = 0;
function firing(clock: Clock): { job: ActionJob<ScaleActionSpec>; labels: Record<string, string> } {
  const namespace = `v${++ns}`;
  const [uid] = kube.addDeployment(namespace, 'web', 2, 1);
  const s = spec();
  const inc = incident('web-1', clock.t, { target: { pod: { uid } }, labels: { namespace, pod: 'web-1' } });
  return {
    job: {
      id: `${inc.key}|scale`,
      event: 'firing',
      incident: inc,
      bundle: bundle(),
      spec: s,
      index: 1,
      actions: [{ type: 'slack' }, s],
      enqueuedAt: 0,
    },
    labels: { cgroup: `/kubepods/pod${uid}/c1`, cgroup_id: String(1000 + ns), pod_uid: uid },
  };
}

for (const recovers of [true, false]) {
  test(`the re-read signal decides: ${recovers ? 'recovered' : 'not recovered'}, with the value before and after`, async () => {
    const { ev, read } = await sides();
    const clock = new Clock();
    const { job, labels } = firing(clock);
    let t = feed(ev, clock.t - 10_000, 11, labels, SLOW);
    const ctx = { ...context(cfg, {}, clock), readSignal: read };
    const out = await createScaleAction().execute(job, ctx);
    assert.equal(out.status, 'delivered');
    assert.deepEqual(
      ctx.scheduled.map((s) => s.event),
      ['verify'],
    );
    t = feed(ev, t, 60, labels, recovers ? FAST : SLOW);
    clock.t = ctx.scheduled[0].notBefore;
    const v = await createScaleAction().execute({ ...job, event: 'verify' }, ctx);
    const note = ctx.notified.at(-1)!;
    assert.equal(note.event, 'verified');
    assert.equal(note.detail?.kind, recovers ? 'recovered' : 'not-recovered');
    assert.equal(v.data?.verdict, recovers ? 'recovered' : 'not-recovered');
    assert.ok(Number(note.detail?.before) > 0.005, `before ${note.detail?.before}`);
    if (recovers) assert.ok(Number(note.detail?.after) < 0.005, `after ${note.detail?.after}`);
    else assert.ok(Number(note.detail?.after) > 0.005, `after ${note.detail?.after}`);
    assert.match(
      String(note.detail?.text),
      recovers
        ? /^Recovered 1 min after scaling Deployment\/v\d+\/web 2 → 3: p99 of runq_delay_seconds over 10s was [\d.]+ before scaling, [\d.e-]+ now \(trips above 5ms; 1 series\)\.$/
        : /^Not recovered 1 min after scaling .*: still breaching, p99 of runq_delay_seconds over 10s was [\d.]+ before scaling, [\d.]+ now/,
    );
    assert.ok(t > clock.t - 120_000);
  });
}

test('the query matches by the label names it gives: workload labels where series carry them', async () => {
  const { ev, read } = await sides();
  const at = Date.parse('2026-11-25T14:00:00Z');
  const mine = {
    cgroup_id: '7',
    pod_uid: 'u7',
    namespace: 'shop',
    pod: 'web-1',
    container: 'app',
    workload: 'Deployment/web',
  };
  const other = {
    cgroup_id: '8',
    pod_uid: 'u8',
    namespace: 'shop',
    pod: 'db-0',
    container: 'pg',
    workload: 'StatefulSet/db',
  };
  for (let s = 0; s < 10; s++)
    ev.tick(tick(at + s * 1000, [hist('runq_delay_seconds', mine, SLOW), hist('runq_delay_seconds', other, FAST)]));
  // As the scale action asks: the workload (as the pod directory spells it, `Kind/name`), then the pod.
  const match = seriesMatch({ kind: 'Deployment', namespace: 'shop', name: 'web' }, { pod: { uid: 'u7' } });
  const r = await read({ rule: 'cpu-throttling', match });
  assert.equal(r.matched, 0);
  assert.equal(r.series, 1);
  assert.equal(r.breaching, true);
  const none = await read({ rule: 'cpu-throttling', match: [{ container_id: ['nope'] }] });
  assert.deepEqual([none.found, none.matched, none.breaching], [true, -1, null]);
  const gone = await read({ rule: 'no-such-rule', match: [{ pod_uid: ['u7'] }] });
  assert.equal(gone.found, false);
  await assert.rejects(read({ rule: 'x', match: [{ 'bad label': ['v'] }] }), /label/, 'validated on the probe side');
});

for (const kind of ['state file', 'redis'] as const) {
  test(`the pending verification survives a restart (${kind}); a check held up past its due time says so`, async () => {
    const { ev, read } = await sides();
    const clock = new Clock();
    const file = join(mkdtempSync(join(tmpdir(), 'tripline-verify-')), 'action-store.json');
    const prefix = uniqueName();
    const conns: Redis[] = [];
    const store = (): ActionStore => {
      if (kind === 'state file') return new FileStore(file, clock.now);
      const c = openRedis(redis.url, 'commands');
      conns.push(c);
      return new RedisStore(c, prefix);
    };
    try {
      const { job, labels } = firing(clock);
      feed(ev, clock.t - 10_000, 11, labels, SLOW);
      const first = { ...context(cfg, {}, clock, store()), readSignal: read };
      await createScaleAction().execute(job, first);
      const due = first.scheduled[0].notBefore;
      // tripline was down from here until 10 minutes after the check was due; the scheduled job runs then.
      feed(ev, clock.t + 1000, 30, labels, FAST);
      clock.t = due + 600_000;
      const restarted = { ...context(cfg, {}, clock, store()), readSignal: read };
      const v = await createScaleAction().execute({ ...job, event: 'verify' }, restarted);
      assert.equal(v.data?.verdict, 'overdue');
      const note = restarted.notified.at(-1)!;
      assert.equal(note.detail?.kind, 'verify-overdue');
      assert.match(
        String(note.detail?.text),
        /was due 600s ago, while tripline was not running; checked now: recovered, p99/,
      );
      const again = await createScaleAction().execute({ ...job, event: 'verify' }, restarted);
      assert.equal(again.status, 'skipped', 'reported once');
    } finally {
      for (const c of conns) c.disconnect();
    }
  });
}
